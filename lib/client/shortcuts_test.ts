import { assertEquals } from "../../tests/helpers/assert.ts";
import { shortcutOf } from "./shortcuts.ts";

const press = (
  key: string,
  mods: Partial<Record<"ctrl" | "meta" | "shift" | "alt", boolean>> = {},
) =>
  shortcutOf({
    key,
    ctrlKey: mods.ctrl ?? false,
    metaKey: mods.meta ?? false,
    shiftKey: mods.shift ?? false,
    altKey: mods.alt ?? false,
  });

Deno.test("shortcuts - Esc stops, Ctrl/⌘+K searches, Ctrl+Shift+O starts a new chat", () => {
  assertEquals(press("Escape"), "stop");
  assertEquals(press("k", { ctrl: true }), "search");
  assertEquals(press("k", { meta: true }), "search");
  assertEquals(press("O", { ctrl: true, shift: true }), "newChat");
  assertEquals(press("o", { meta: true, shift: true }), "newChat");
});

Deno.test("shortcuts - plain keys and other combinations are left to the page", () => {
  assertEquals(press("k"), undefined);
  assertEquals(press("K", { ctrl: true, shift: true }), undefined);
  assertEquals(press("o", { ctrl: true }), undefined);
  assertEquals(press("k", { ctrl: true, alt: true }), undefined);
  assertEquals(press("Escape", { ctrl: true }), undefined);
});
