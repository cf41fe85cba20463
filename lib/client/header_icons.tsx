/**
 * The header's buttons on a phone (≤ 480 px): each keeps its words for its accessible name, in
 * a `.label` span the CSS hides visually there, and shows one of these marks instead.
 * Inline SVG with presentation attributes only, so the CSP needs nothing for them.
 */
import type { ComponentChildren } from "preact";

type IconName = "menu" | "settings" | "new" | "more" | "models";

const PATHS: Record<IconName, string> = {
  menu: "M3 6h18M3 12h18M3 18h18",
  settings: "M4 7h10M18 7h2M4 17h2M10 17h10M14 4v6M6 14v6",
  new: "M12 5v14M5 12h14",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  models: "M4 5h16v5H4zM4 14h16v5H4zM8 7.5h.01M8 16.5h.01",
};

export function Icon({ name }: { name: IconName }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
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
