import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import type { Token } from "marked";
import { BlockSplitter, normalizeNewlines } from "./blocks.ts";
import { createSplitter, lexMarkdown } from "./markdown_render.ts";

interface Seen {
  done: string[];
  tail: string | undefined;
}

/**
 * Streams `text` into a splitter in pieces of `step` characters and checks, at every step, what
 * the page relies on: finished blocks never change, finished + tail is exactly the text, and the
 * blocks carry the same tokens as lexing the whole text at once.
 */
function stream(text: string, step = 1): Seen[] {
  const splitter = createSplitter();
  const seen: Seen[] = [];
  let previous: string[] = [];
  for (let end = step; end < text.length + step; end += step) {
    const prefix = text.slice(0, Math.min(end, text.length));
    const split = splitter.update(prefix);
    assert(!split.reset, `no reset while the text only grows (at ${end})`);
    const done = split.done.map((b) => b.source);
    assertEquals(done.slice(0, previous.length), previous, `finished blocks stay (at ${end})`);
    assertEquals(split.added, done.length - previous.length);
    assertEquals(done.join("") + (split.tail?.source ?? ""), prefix, "blocks cover the text");
    const tokens = [...split.done.flatMap((b) => b.tokens), ...(split.tail?.tokens ?? [])];
    const whole = lexMarkdown(prefix);
    assertEquals(
      tokens.map((t) => [t.type, t.raw]),
      whole.map((t) => [t.type, t.raw]),
      `same tokens as the whole text (at ${end}: ${JSON.stringify(prefix.slice(-20))})`,
    );
    previous = done;
    seen.push({ done, tail: split.tail?.source });
  }
  return seen;
}

function final(text: string): Seen {
  return stream(text).at(-1)!;
}

/** The finished blocks when the text stops right after `marker`'s first occurrence ends. */
function doneAt(text: string, marker: string): string[] {
  const splitter = createSplitter();
  return splitter.update(text.slice(0, text.indexOf(marker) + marker.length)).done.map((b) =>
    b.source
  );
}

Deno.test("blocks - paragraphs: a block is finished once the next one starts", () => {
  assertEquals(final("One.\n\nTwo.\n\nThree.\n"), {
    done: ["One.\n\n", "Two.\n\n"],
    tail: "Three.\n",
  });
  // Blank lines alone do not finish a block: the next one might still join it (a list).
  assertEquals(final("One.\n\n"), { done: [], tail: "One.\n\n" });
});

Deno.test("blocks - trailing partial lines stay in the block being written", () => {
  // Until its first line is whole, a block does not finish the one before it: `2` could still
  // become `2. two`, the next item of the list above.
  assertEquals(final("1. one\n\n2"), { done: [], tail: "1. one\n\n2" });
  assertEquals(final("# Title\n\nIntro.\n\nSome text that is not fin"), {
    done: ["# Title\n\n"],
    tail: "Intro.\n\nSome text that is not fin",
  });
  assertEquals(final("Line one\nline tw"), { done: [], tail: "Line one\nline tw" });
});

Deno.test("blocks - no boundary inside a fenced code block, even at blank lines", () => {
  const text = "Intro\n\n```js\nconst a = 1;\n\n\nconst b = 2;\n\n```\n\nAfter\n";
  for (const marker of ["const a = 1;\n\n", "const b = 2;\n\n", "```js\n"]) {
    assertEquals(doneAt(text, marker), ["Intro\n\n"], `only the intro is finished at ${marker}`);
  }
  assertEquals(final(text), {
    done: ["Intro\n\n", "```js\nconst a = 1;\n\n\nconst b = 2;\n\n```\n\n"],
    tail: "After\n",
  });
  // Tildes and longer fences too; a shorter fence inside does not close it.
  assertEquals(final("~~~~\na\n\n~~~\nb\n~~~~\n\nz\n").done, ["~~~~\na\n\n~~~\nb\n~~~~\n\n"]);
});

Deno.test("blocks - a loose list is one block; a block after it finishes it", () => {
  const text = "1. one\n\n2. two\n\n   more about two\n\n3. three\n\nAfter the list";
  assertEquals(doneAt(text, "2. two\n\n"), []);
  assertEquals(doneAt(text, "   more"), []);
  assertEquals(final(text + "\n"), {
    done: ["1. one\n\n2. two\n\n   more about two\n\n3. three\n\n"],
    tail: "After the list\n",
  });
  assertEquals(final("- a\n- b\n\nPara\n\n- c\n").done, ["- a\n- b\n\n", "Para\n\n"]);
});

Deno.test("blocks - a table is one block, from its header line on", () => {
  const text = "| a | b |\n| - | - |\n| 1 | 2 |\n| 3 | 4 |\n\nAfter\n";
  assertEquals(doneAt(text, "| a | b |\n"), []);
  assertEquals(doneAt(text, "| 3 | 4 |\n"), []);
  const last = final(text);
  assertEquals(last.done, ["| a | b |\n| - | - |\n| 1 | 2 |\n| 3 | 4 |\n\n"]);
  assertEquals(lexMarkdown(last.done[0]!)[0]!.type, "table");
});

Deno.test("blocks - a $$…$$ math block is one block, blank lines or not", () => {
  const text =
    "Before\n\n$$\n\\begin{aligned}\na &= b \\\\\n\nc &= d\n\\end{aligned}\n$$\n\nAfter\n";
  assertEquals(doneAt(text, "a &= b \\\\\n\n"), ["Before\n\n"], "unclosed: no boundary inside");
  assertEquals(doneAt(text, "c &= d\n"), ["Before\n\n"]);
  const last = final(text);
  assertEquals(last.done, [
    "Before\n\n",
    "$$\n\\begin{aligned}\na &= b \\\\\n\nc &= d\n\\end{aligned}\n$$\n\n",
  ]);
  assertEquals(lexMarkdown(last.done[1]!)[0]!.type, "mathBlock");
  assertEquals(final("\\[\nx^2\n\\]\n\nz\n").done, ["\\[\nx^2\n\\]\n\n"]);
});

Deno.test("blocks - a setext heading: its text is not finished before the underline", () => {
  const text = "Title\n=====\n\nBody\n\nSub\n---\n\nEnd\n";
  assertEquals(doneAt(text, "Title\n"), []);
  assertEquals(final(text), {
    done: ["Title\n=====\n\n", "Body\n\n", "Sub\n---\n\n"],
    tail: "End\n",
  });
  assertEquals(lexMarkdown("Title\n=====\n")[0]!.type, "heading");
});

Deno.test("blocks - any chunking gives the same blocks as the whole text", () => {
  const text = [
    "# Plan\n\nSome *text* with `code` and $x^2$ math.\n\n",
    "- a\n- b\n  - nested\n\n",
    "```python\ndef f():\n\n    return 1\n```\n\n",
    "| k | v |\n|---|---|\n| 1 | 2 |\n\n",
    "> quote\n> more\n\n",
    "$$\n\\frac{1}{2}\n$$\n\n",
    "Heading\n-------\n\n",
    "    indented code\n\n    more\n\n",
    "<details>\n<summary>x</summary>\n\nhidden\n</details>\n\n",
    "Last paragraph.",
  ].join("");
  const once = createSplitter().update(text);
  for (const step of [1, 3, 7, 64]) {
    const last = stream(text, step).at(-1)!;
    assertEquals(last.done, once.done.map((b) => b.source), `step ${step}`);
    assertEquals(last.tail, once.tail?.source);
  }
});

Deno.test("blocks - text that does not continue the previous one starts over", () => {
  const splitter = createSplitter();
  splitter.update("A.\n\nB.\n\nC\n");
  const again = splitter.update("X.\n\nY\n");
  assert(again.reset);
  assertEquals(again.done.map((b) => b.source), ["X.\n\n"]);
  assertEquals(splitter.update("").reset, true);
});

Deno.test("blocks - CRLF line endings are read as LF", () => {
  assertEquals(normalizeNewlines("a\r\nb\rc"), "a\nb\nc");
  assertEquals(createSplitter().update("One.\r\n\r\nTwo\r\n").done.map((b) => b.source), [
    "One.\n\n",
  ]);
});

Deno.test("blocks - a growing list is lexed from its last item on, with the same blocks", () => {
  const items = Array.from({ length: 300 }, (_, i) => `- item ${i} with **bold** text\n`).join("");
  const lists = [
    items + "\nAfter the list.\n",
    "1. one\n2. two\n\n   more about two\n3. three\n   ```js\n   const x = 1;\n\n   ```\n4. four\n\nEnd\n",
    "- a\n- b\n  - nested\n  - nested too\n- c\n+ other bullet\n+ again\n\n1) x\n2) y\n",
    "- [ ] task\n- [x] done\n- plain\n---\n",
  ];
  for (const text of lists.slice(1)) stream(text); // char by char: same tokens as the whole text
  let lexed = 0;
  const splitter = new BlockSplitter<Token>((source) => {
    lexed += source.length;
    return lexMarkdown(source);
  });
  const text = lists[0]!;
  let listSeen = 0;
  for (let end = 1; end <= text.length; end++) {
    const split = splitter.update(text.slice(0, end));
    if (split.tail?.growing) listSeen++;
  }
  // Lexing the whole list on every update would be ~ text² / 2 = 29 million characters.
  assert(lexed < text.length * 200, `lexed ${lexed} characters for ${text.length}`);
  assert(listSeen > text.length / 2, "the tail was a growing list most of the way");
  const split = splitter.update(text);
  assertEquals(split.done.map((b) => b.source), [items + "\n"]);
  assertEquals(split.done[0]!.tokens.map((t) => t.type), ["list", "space"]);
  assertEquals(split.tail?.source, "After the list.\n");
});

Deno.test("blocks - the growing list's token starts where the page's list stands", () => {
  const splitter = createSplitter();
  splitter.update("- a\n- b\n");
  const grown = splitter.update("- a\n- b\n- c\n- d");
  const list = grown.tail!.growing!;
  // From the last item of the previous update ("- b") on.
  assertEquals(list.at, "- a\n".length);
  assert(list.token.type === "list");
  assertEquals(list.token.items.map((i) => i.raw), ["- b\n", "- c\n", "- d"]);
  assertEquals(grown.tail!.tokens.map((t) => t.type), ["list"], "tokens: the whole list");
});

Deno.test("blocks - a growing table is lexed from its last row on, under its header", () => {
  const rows = Array.from(
    { length: 300 },
    (_, i) => `| ${i} | row ${i} with \`code\` | ${i * 2} |\n`,
  );
  const text = "Intro\n\n| n | what | twice |\n| - | :--- | ---: |\n" + rows.join("") +
    "\nAfter.\n";
  stream(text.slice(0, 600)); // char by char: same tokens as the whole text
  stream("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 |\n\n| x |\n|---|\n| y |\nz\n");
  let lexed = 0;
  const splitter = new BlockSplitter<Token>((source) => {
    lexed += source.length;
    return lexMarkdown(source);
  });
  let growing = 0;
  for (let end = 1; end <= text.length; end++) {
    const split = splitter.update(text.slice(0, end));
    if (split.tail?.growing?.token.type === "table") growing++;
  }
  assert(lexed < text.length * 200, `lexed ${lexed} characters for ${text.length}`);
  assert(growing > text.length / 2, "the tail was a growing table most of the way");
  const split = splitter.update(text);
  assertEquals(split.done.map((b) => b.tokens.filter((t) => t.type !== "space")[0]!.type), [
    "paragraph",
    "table",
  ]);
  const table = split.done[1]!.tokens[0] as Token & { rows: unknown[] };
  assertEquals(table.rows.length, 300);

  const small = createSplitter();
  small.update("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n");
  const grown = small.update("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 | 6 |\n");
  const at = grown.tail!.growing!;
  assert(at.token.type === "table");
  assertEquals(at.at, "| a | b |\n|---|---|\n| 1 | 2 |\n".length, "from the last row before");
  assertEquals(at.token.rows.length, 2);
});

Deno.test("blocks - a closed fence, or a table and a blank line, finish at the next word", () => {
  assertEquals(final("```js\nx\n```\nAfter the co"), {
    done: ["```js\nx\n```\n"],
    tail: "After the co",
  });
  assertEquals(final("| a |\n|---|\n| 1 |\n\nAfter the ta"), {
    done: ["| a |\n|---|\n| 1 |\n\n"],
    tail: "After the ta",
  });
  // Without the blank line the next line may still be a row of the table.
  assertEquals(final("| a |\n|---|\n| 1 |\n2").done, []);
  // A list may still take it as an item (`2` → `2. two`).
  assertEquals(final("1. one\n\n2").done, []);
});
