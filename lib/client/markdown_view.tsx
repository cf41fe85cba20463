/**
 * Answer text on the page: {@link Markdown} (rendered as it streams, see `markdown_dom.ts`) and
 * {@link Thinking} (the model's reasoning, plain text, folded).
 */
import { useLayoutEffect, useRef } from "preact/hooks";
import type { AssistantMessage } from "./state.ts";
import { copyText } from "./clipboard.ts";
import { COPIED_LABEL, COPY_LABEL, loadRenderer } from "./markdown.ts";
import { StreamingMarkdown } from "./markdown_dom.ts";

/** How long a Copy button says "Copied". */
const COPIED_MS = 2000;

// The renderer is not in the page's first bundle, but fetch it once the page is idle, so the
// first answer (or a stored conversation) rarely shows as plain text before it is formatted.
if (typeof requestIdleCallback === "function") {
  requestIdleCallback(() => void loadRenderer(), { timeout: 3000 });
}

async function copyCode(event: MouseEvent): Promise<void> {
  const button = (event.target as Element | null)?.closest?.("button.copy-code");
  if (!(button instanceof HTMLButtonElement)) return;
  const code = button.closest(".code-block")?.querySelector("pre code");
  const text = (code?.textContent ?? "").replace(/\n$/, "");
  const label = (await copyText(text)) ? COPIED_LABEL : "Copy failed";
  button.textContent = label;
  setTimeout(() => {
    if (button.textContent === label) button.textContent = COPY_LABEL;
  }, COPIED_MS);
}

/**
 * The Markdown of an answer. The element's children belong to {@link StreamingMarkdown}, not to
 * Preact (the vnode has none), so each update touches only the block being written. Content
 * signals change at most once per animation frame (see state.ts), so this renders at most once
 * per frame too. On the server it is plain text.
 */
export function Markdown({ source, class: cls }: { source: string; class: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const view = useRef<StreamingMarkdown | undefined>(undefined);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    view.current ??= new StreamingMarkdown(el);
    view.current.update(source);
  }, [source]);
  useLayoutEffect(() => () => view.current?.dispose(), []);
  if (typeof document === "undefined") {
    return (
      <div class={cls}>
        <p class="md-plain">{source}</p>
      </div>
    );
  }
  return <div class={cls} ref={ref} onClick={copyCode} />;
}

export function Thinking({ message }: { message: AssistantMessage }) {
  const thinking = message.thinking.value;
  const ms = message.thinkingMs.value;
  if (!thinking) return null;
  const label = ms === undefined
    ? "Thinking"
    : `Thought for ${Math.max(1, Math.round(ms / 1000))} s`;
  return (
    <details class="thinking" data-testid="thinking">
      <summary>{label}</summary>
      <div class="thinking-text">{thinking}</div>
    </details>
  );
}
