/**
 * The conversation's export links, behind one "Export" button that opens them as a small menu,
 * so the header keeps to one row (on a phone the button shows only its mark, styles.css). The
 * links say "Markdown" and "JSON"; their accessible names are whole ("Export Markdown").
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { exportUrl } from "./api.ts";
import { Icon } from "./header_icons.tsx";

export function ExportMenu({ conversationId }: { conversationId: string }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const root = useRef<HTMLSpanElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      setOpen(false);
      toggle.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);

  return (
    <span
      class="export-menu"
      ref={root}
      data-open={open ? "true" : undefined}
      onFocusOut={(event) => {
        if (!root.current?.contains(event.relatedTarget as Node | null)) setOpen(false);
      }}
    >
      <button
        type="button"
        class="btn btn-ghost btn-small export-toggle"
        ref={toggle}
        aria-expanded={open ? "true" : "false"}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        <Icon name="more" />
        <span class="label">Export</span>
      </button>
      <span class="exports" id={id}>
        <a
          class="btn btn-ghost btn-small"
          href={exportUrl(conversationId, "markdown")}
          aria-label="Export Markdown"
          download
          onClick={() => setOpen(false)}
        >
          Markdown
        </a>
        <a
          class="btn btn-ghost btn-small"
          href={exportUrl(conversationId, "json")}
          aria-label="Export JSON"
          download
          onClick={() => setOpen(false)}
        >
          JSON
        </a>
      </span>
    </span>
  );
}
