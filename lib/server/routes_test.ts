import { assertEquals } from "../../tests/helpers/assert.ts";
import { generateManifest } from "./manifest.ts";
import { pathnameOf } from "./routes.ts";

Deno.test("routes - file names map to URL patterns with Fresh's rules", () => {
  assertEquals(pathnameOf("./routes/index.tsx"), "/");
  assertEquals(pathnameOf("./routes/health.ts"), "/health");
  assertEquals(pathnameOf("./routes/api/models/index.ts"), "/api/models");
  assertEquals(pathnameOf("./routes/api/models/load.ts"), "/api/models/load");
  assertEquals(pathnameOf("./routes/chats/[id].tsx"), "/chats/:id");
  assertEquals(pathnameOf("./routes/files/[...path].ts"), "/files/:path*");
  assertEquals(pathnameOf("./routes/(marketing)/about.tsx"), "/about");
});

Deno.test("routes - manifest.gen.ts lists exactly the files of routes/ and islands/", async () => {
  const root = new URL("../../", import.meta.url);
  const expected = await generateManifest(root);
  const actual = await Deno.readTextFile(new URL("manifest.gen.ts", root));
  assertEquals(actual, expected, "run `deno task dev` to regenerate manifest.gen.ts");
});
