/**
 * The page's own settings, at the foot of the sidebar: the colour theme (System, Light, Dark;
 * remembered in a cookie the server reads, see theme.ts) and the keyboard shortcuts help.
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { SHORTCUTS } from "./shortcuts.ts";
import { applyTheme, currentTheme, type ThemeChoice, THEMES } from "./theme.ts";

const THEME_LABELS: Record<ThemeChoice, string> = {
  system: "System",
  light: "Light",
  dark: "Dark",
};

export function ThemeSwitch({ initial }: { initial: ThemeChoice }) {
  const id = useId();
  const [theme, setTheme] = useState<ThemeChoice>(initial);
  // The server rendered the cookie's choice; the page may have been restored from the cache.
  useEffect(() => setTheme(currentTheme()), []);
  return (
    <div class="theme-switch">
      <label for={id}>Theme</label>
      <select
        id={id}
        class="theme-select"
        value={theme}
        onChange={(event) => {
          const choice = event.currentTarget.value as ThemeChoice;
          setTheme(choice);
          applyTheme(choice);
        }}
      >
        {THEMES.map((t) => (
          <option key={t} value={t} selected={t === theme}>{THEME_LABELS[t]}</option>
        ))}
      </select>
    </div>
  );
}

/** A button opening a modal list of the shortcuts; closing it returns focus to the button. */
export function ShortcutsHelp() {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  return (
    <>
      <button
        type="button"
        class="btn btn-ghost btn-small"
        aria-haspopup="dialog"
        onClick={() => dialog.current?.showModal()}
      >
        Keyboard shortcuts
      </button>
      <dialog ref={dialog} class="dialog" aria-labelledby={titleId}>
        <h2 id={titleId} class="dialog-title">Keyboard shortcuts</h2>
        <dl class="shortcut-list">
          {SHORTCUTS.map((s) => (
            <div key={s.keys} class="shortcut">
              <dt>
                {s.keys.split("+").map((k, i) => (
                  <span key={k}>
                    {i > 0 && "+"}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </dt>
              <dd>{s.does}</dd>
            </div>
          ))}
        </dl>
        <form method="dialog" class="dialog-buttons">
          <button type="submit" class="btn btn-small">Close</button>
        </form>
      </dialog>
    </>
  );
}
