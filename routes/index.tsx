import Chat from "../islands/Chat.tsx";
import { type Context, page, type PageProps } from "../lib/server/types.ts";
import type { State } from "../lib/state.ts";

interface Data {
  readonly defaultModel: string;
}

export const handler = {
  GET(ctx: Context<State>) {
    return page<Data>({ defaultModel: ctx.state.backend.defaultModel() });
  },
};

/** The chat shell, rendered here and hydrated in the browser. */
export default function Home({ data }: PageProps<Data>) {
  return <Chat title="Local Chat" defaultModel={data.defaultModel} />;
}
