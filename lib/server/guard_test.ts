import { assertEquals } from "../../tests/helpers/assert.ts";
import { isAllowedHost, isAllowedOrigin } from "./guard.ts";

const none = { allowedHosts: [], allowedOrigins: [] };

Deno.test("guard - loopback names and IP literals are served, other names are not", () => {
  for (
    const host of ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "app.localhost", "10.0.0.5"]
  ) {
    assertEquals(isAllowedHost(host, none), true, host);
  }
  for (const host of ["evil.example:8000", "attacker.com", "", "localhost.evil.com"]) {
    assertEquals(isAllowedHost(host, none), false, host);
  }
  assertEquals(isAllowedHost(null, none), false);
});

Deno.test("guard - ALLOWED_HOSTS adds names, wildcards and *", () => {
  const options = { allowedHosts: ["chat.example.org", "*.corp.example"], allowedOrigins: [] };
  assertEquals(isAllowedHost("chat.example.org:8000", options), true);
  assertEquals(isAllowedHost("a.corp.example", options), true);
  assertEquals(isAllowedHost("corp.example.evil", options), false);
  assertEquals(isAllowedHost("anything", { allowedHosts: ["*"], allowedOrigins: [] }), true);
});

Deno.test("guard - only the app's own origin, or a listed one, is accepted", () => {
  assertEquals(isAllowedOrigin("http://127.0.0.1:8000", "127.0.0.1:8000", none), true);
  assertEquals(isAllowedOrigin("http://127.0.0.1:9999", "127.0.0.1:8000", none), false);
  assertEquals(isAllowedOrigin("https://evil.example", "127.0.0.1:8000", none), false);
  assertEquals(isAllowedOrigin("null", "127.0.0.1:8000", none), false);
  assertEquals(isAllowedOrigin(null, "127.0.0.1:8000", none), true);
  const listed = { allowedHosts: [], allowedOrigins: ["https://tools.example"] };
  assertEquals(isAllowedOrigin("https://tools.example", "127.0.0.1:8000", listed), true);
});
