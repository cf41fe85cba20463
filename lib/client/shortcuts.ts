/**
 * The page's keyboard shortcuts, in one list: the help dialog shows it, the island's key
 * handler follows it. Enter, Shift+Enter and ↑ belong to the message box (components.tsx).
 */

export type ShortcutAction = "stop" | "search" | "newChat";

export interface Shortcut {
  /** What a person presses, as shown: `Ctrl+K`. */
  readonly keys: string;
  readonly does: string;
}

/** Every shortcut, as the help dialog lists them. */
export const SHORTCUTS: readonly Shortcut[] = [
  { keys: "Enter", does: "Send the message" },
  { keys: "Shift+Enter", does: "New line in the message" },
  { keys: "Esc", does: "Stop the answer being written" },
  { keys: "↑", does: "Edit your last message (in an empty message box)" },
  { keys: "Ctrl+K", does: "Search conversations" },
  { keys: "Ctrl+Shift+O", does: "New chat" },
];

/** The document-wide action a key press asks for, if any (⌘ counts as Ctrl on a Mac). */
export function shortcutOf(event: {
  readonly key: string;
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
  readonly shiftKey: boolean;
  readonly altKey: boolean;
}): ShortcutAction | undefined {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (event.key === "Escape" && !mod && !event.altKey) return "stop";
  if (mod && !event.altKey && !event.shiftKey && key === "k") return "search";
  if (mod && !event.altKey && event.shiftKey && key === "o") return "newChat";
  return undefined;
}
