import { type ThemeChoice, themeFromCookie } from "../../lib/client/theme.ts";
import Chat from "../../islands/Chat.tsx";
import { type Context, page, type PageProps } from "../../lib/server/types.ts";
import type { State } from "../../lib/state.ts";

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

/**
 * The chat shell opened on one conversation. Any id renders the shell: the island loads the
 * conversation over HTTP and says so itself when it does not exist.
 */
export default function ConversationPage({ data, params }: PageProps<Data>) {
  const id = decoded(params.id);
  return (
    <>
      {
        /* The conversation starts downloading while the page parses; the island's fetch of the
          same URL then takes it from the preload cache. */
      }
      <link
        rel="preload"
        as="fetch"
        crossorigin="anonymous"
        href={`/api/conversations/${encodeURIComponent(id)}`}
      />
      {
        /* So do its settings (the model it remembers), which the island waits for beside it:
          fetched only after hydration, they were a round trip on the way to a usable page. */
      }
      <link
        rel="preload"
        as="fetch"
        crossorigin="anonymous"
        href={`/api/conversations/${encodeURIComponent(id)}/settings`}
      />
      <Chat
        title="Local Chat"
        defaultModel={data.defaultModel}
        theme={data.theme}
        conversationId={id}
      />
    </>
  );
}

/** The id as stored: the URL's percent-escapes undone (a malformed one is left as it is). */
function decoded(id: string | undefined): string {
  try {
    return decodeURIComponent(id ?? "");
  } catch {
    return id ?? "";
  }
}
