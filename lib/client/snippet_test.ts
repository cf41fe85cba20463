import { assertEquals } from "../../tests/helpers/assert.ts";
import { snippetParts } from "./snippet.ts";

Deno.test("snippet - marks become parts and escapes become text again", () => {
  assertEquals(snippetParts("green &amp; <mark>tea</mark> &lt;b&gt; &#39;x&#39;"), [
    { text: "green & ", marked: false },
    { text: "tea", marked: true },
    { text: " <b> 'x'", marked: false },
  ]);
});

Deno.test("snippet - any other tag stays literal text, never markup", () => {
  assertEquals(snippetParts('<img src=x onerror="alert(1)"><mark>hit'), [
    { text: '<img src=x onerror="alert(1)">', marked: false },
    { text: "hit", marked: true },
  ]);
});
