import { assertEquals } from "../../tests/helpers/assert.ts";
import { fencedCode, SEGMENT_LINES, segmentEnd } from "./live_code.ts";
import type { Token } from "marked";

Deno.test("live code - a segment ends after a blank line", () => {
  const text = "a = 1\nb = 2\n\nc = 3\n";
  assertEquals(segmentEnd(text, 0), "a = 1\nb = 2\n\n".length);
  assertEquals(segmentEnd(text, "a = 1\nb = 2\n\n".length), -1, "c = 3 waits for more");
});

Deno.test("live code - a line of spaces is blank too", () => {
  assertEquals(segmentEnd("x\n   \ny", 0), "x\n   \n".length);
});

Deno.test("live code - without blank lines a segment ends after SEGMENT_LINES lines", () => {
  const lines = Array.from({ length: SEGMENT_LINES + 5 }, (_, i) => `line ${i}\n`).join("");
  const end = segmentEnd(lines, 0);
  assertEquals(lines.slice(0, end).split("\n").length - 1, SEGMENT_LINES);
  assertEquals(segmentEnd(lines, end), -1);
});

Deno.test("live code - an unfinished line never ends a segment", () => {
  assertEquals(segmentEnd("let x =", 0), -1);
  assertEquals(segmentEnd("", 0), -1);
});

Deno.test("live code - only a fenced code block is grown in place", () => {
  const code = (raw: string) => ({ type: "code", raw, text: "", lang: "ts" }) as unknown as Token;
  const space = { type: "space", raw: "\n\n" } as unknown as Token;
  const paragraph = { type: "paragraph", raw: "x" } as unknown as Token;
  assertEquals(fencedCode([code("```ts\nx\n")])?.lang, "ts");
  assertEquals(fencedCode([code("~~~\nx\n"), space])?.raw, "~~~\nx\n");
  assertEquals(fencedCode([code("    indented\n")]), undefined);
  assertEquals(fencedCode([paragraph, code("```ts\nx\n")]), undefined);
  assertEquals(fencedCode([]), undefined);
});
