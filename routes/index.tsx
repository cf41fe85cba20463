import { type ThemeChoice, themeFromCookie } from "../lib/client/theme.ts";
import Chat from "../islands/Chat.tsx";
import { type Context, page, type PageProps } from "../lib/server/types.ts";
import type { State } from "../lib/state.ts";

interface Data {
  readonly defaultModel: string;
  readonly theme: ThemeChoice;
}

export const handler = {
  GET(ctx: Context<State>) {
    return page<Data>({
      defaultModel: ctx.state.backend.defaultModel(),
      theme: themeFromCookie(ctx.req.headers.get("cookie")),
    });
  },
};

/** The chat shell, rendered here and hydrated in the browser. */
export default function Home({ data }: PageProps<Data>) {
  return <Chat title="Local Chat" defaultModel={data.defaultModel} theme={data.theme} />;
}
