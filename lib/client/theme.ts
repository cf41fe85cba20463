/**
 * The colour theme: the system's (the default), or light or dark as the person chose. The
 * choice lives in a cookie the server reads, so the first paint already has the right colours:
 * `<html data-theme>` is rendered with it and the CSS does the rest (no script runs before
 * paint; the CSP allows none inline anyway). Used by `routes/_app.tsx` and the island.
 */

export type ThemeChoice = "system" | "light" | "dark";

export const THEMES: readonly ThemeChoice[] = ["system", "light", "dark"];
export const THEME_COOKIE = "theme";
/** A year: the choice should outlive the session. */
const MAX_AGE_S = 365 * 24 * 3600;

/** The choice in a `Cookie` header; `system` when absent or unknown. */
export function themeFromCookie(header: string | null | undefined): ThemeChoice {
  for (const part of (header ?? "").split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === THEME_COOKIE && THEMES.includes(value as ThemeChoice)) {
      return value as ThemeChoice;
    }
  }
  return "system";
}

/** `Set-Cookie`/`document.cookie` text remembering `choice` for the whole site. */
export function themeCookie(choice: ThemeChoice): string {
  return `${THEME_COOKIE}=${choice}; Path=/; Max-Age=${MAX_AGE_S}; SameSite=Lax`;
}

/** The choice the page was rendered with. */
export function currentTheme(): ThemeChoice {
  const value = document.documentElement.dataset.theme as ThemeChoice | undefined;
  return value && THEMES.includes(value) ? value : "system";
}

/** Switches the page at once and remembers the choice for the next visit. */
export function applyTheme(choice: ThemeChoice): void {
  document.documentElement.dataset.theme = choice;
  document.querySelector('meta[name="color-scheme"]')
    ?.setAttribute("content", choice === "system" ? "light dark" : choice);
  document.cookie = themeCookie(choice);
}
