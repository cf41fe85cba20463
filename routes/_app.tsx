import { themeFromCookie } from "../lib/client/theme.ts";
import type { AppProps } from "../lib/server/types.ts";

/**
 * The document around every page. `data-theme` comes from the theme cookie, so the first paint
 * has the person's colours (`system` follows `prefers-color-scheme` in the CSS).
 */
export default function App({ Component, req }: AppProps) {
  const theme = themeFromCookie(req.headers.get("cookie"));
  return (
    <html lang="en" data-theme={theme}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta
          name="color-scheme"
          content={theme === "system" ? "light dark" : theme}
        />
        <title>Local Chat</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/styles.css" />
      </head>
      <body>
        <Component />
      </body>
    </html>
  );
}
