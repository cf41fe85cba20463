/**
 * Search snippets as the server sends them (lib/conversation_http.ts): the message's text with
 * `&`, `<`, `>`, `"` and `'` escaped, and each match between `<mark>` and `</mark>`. Read back
 * into plain text parts, so the page never hands the snippet to an HTML parser.
 */

export interface SnippetPart {
  readonly text: string;
  readonly marked: boolean;
}

const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
  "&#x27;": "'",
};

function unescape(text: string): string {
  return text.replace(
    /&(?:amp|lt|gt|quot|#39|#x27|#(\d+));/g,
    (entity, code) => ENTITIES[entity] ?? String.fromCodePoint(Number(code)),
  );
}

/** `a <mark>b</mark> c` → text `a `, marked `b`, text ` c`; any other tag stays literal text. */
export function snippetParts(html: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let marked = false;
  for (const piece of html.split(/(<mark>|<\/mark>)/)) {
    if (piece === "<mark>") marked = true;
    else if (piece === "</mark>") marked = false;
    else if (piece) parts.push({ text: unescape(piece), marked });
  }
  return parts;
}
