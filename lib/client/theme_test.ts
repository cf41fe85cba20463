import { assertEquals } from "../../tests/helpers/assert.ts";
import { themeCookie, themeFromCookie } from "./theme.ts";

Deno.test("theme - the cookie's choice, or system for none and for anything unknown", () => {
  assertEquals(themeFromCookie(null), "system");
  assertEquals(themeFromCookie("a=1; theme=dark; b=2"), "dark");
  assertEquals(themeFromCookie("theme=light"), "light");
  assertEquals(themeFromCookie("theme=<script>"), "system");
  assertEquals(themeFromCookie("xtheme=dark"), "system");
});

Deno.test("theme - the cookie lasts a year for the whole site", () => {
  assertEquals(themeCookie("dark"), "theme=dark; Path=/; Max-Age=31536000; SameSite=Lax");
});
