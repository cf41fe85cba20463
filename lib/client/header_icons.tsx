/**
 * Marks for small buttons. The header's buttons show them on a phone (≤ 480 px), keeping their
 * words for their accessible names in a `.label` span the CSS hides visually there; the
 * sidebar's Rename and Delete show them at every width, named by `aria-label`.
 * Inline SVG with presentation attributes only, so the CSP needs nothing for them.
 */
import type { ComponentChildren } from "preact";

type IconName = "menu" | "settings" | "new" | "more" | "models" | "rename" | "delete";

const PATHS: Record<IconName, string> = {
  menu: "M3 6h18M3 12h18M3 18h18",
  settings: "M4 7h10M18 7h2M4 17h2M10 17h10M14 4v6M6 14v6",
  new: "M12 5v14M5 12h14",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  models: "M4 5h16v5H4zM4 14h16v5H4zM8 7.5h.01M8 16.5h.01",
  rename: "M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4",
  delete: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v5M14 11v5",
};

export function Icon({ name, size = 18 }: { name: IconName; size?: number }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width={size}
      height={size}
      fill="none"
      stroke="currentColor"
      stroke-width={name === "more" ? "3.5" : "2"}
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}

/** A button's content: its mark (phones only) and its words (hidden visually on phones). */
export function IconLabel({ icon, children }: { icon: IconName; children: ComponentChildren }) {
  return (
    <>
      <Icon name={icon} />
      <span class="label">{children}</span>
    </>
  );
}
