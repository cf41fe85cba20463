import { assertEquals } from "../../tests/helpers/assert.ts";
import { lexMarkdown } from "./markdown_render.ts";

/** The formulas marked finds in `source`, as `[type, raw]`, at any depth. */
function formulas(source: string): [string, string][] {
  const found: [string, string][] = [];
  const walk = (tokens: readonly { type: string; raw: string; tokens?: unknown }[]) => {
    for (const token of tokens) {
      if (token.type === "mathInline" || token.type === "mathBlock") {
        found.push([token.type, token.raw.trim()]);
      }
      const children = token as { tokens?: typeof tokens; items?: typeof tokens };
      if (children.tokens) walk(children.tokens);
      if (children.items) walk(children.items);
    }
  };
  walk(lexMarkdown(source));
  return found;
}

Deno.test("math - inline $…$ and \\(…\\), display $$…$$ and \\[…\\]", () => {
  assertEquals(formulas("Area $\\pi r^2$ and \\(e^x\\) here."), [
    ["mathInline", "$\\pi r^2$"],
    ["mathInline", "\\(e^x\\)"],
  ]);
  assertEquals(formulas("$$\na^2 + b^2 = c^2\n$$\n"), [["mathBlock", "$$\na^2 + b^2 = c^2\n$$"]]);
  assertEquals(formulas("\\[\nx\n\\]\n"), [["mathBlock", "\\[\nx\n\\]"]]);
  assertEquals(formulas("Inline $$x$$ too."), [["mathInline", "$$x$$"]]);
});

Deno.test("math - prices and lone dollars stay text", () => {
  assertEquals(formulas("It costs $5 and $10 today."), []);
  assertEquals(formulas("Between $ 1 and 2 $ is not math."), []);
  assertEquals(formulas("Paid $20, then $30."), []);
  assertEquals(formulas("`$x$` in code is code."), []);
  assertEquals(formulas("```\n$$\nx\n$$\n```\n"), []);
});

Deno.test("math - an unclosed $$ block is held whole until it closes", () => {
  assertEquals(formulas("$$\n\\frac{1}{2}\n\n- not a list\n"), [
    ["mathBlock", "$$\n\\frac{1}{2}\n\n- not a list"],
  ]);
});
