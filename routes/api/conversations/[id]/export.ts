import { idParam, slugOf, storeCall } from "../../../../lib/conversation_http.ts";
import { conversationMarkdown } from "../../../../lib/markdown_export.ts";
import { ownerOf } from "../../../../lib/owner.ts";
import { HttpError } from "../../../../lib/server/http_error.ts";
import type { Context } from "../../../../lib/server/types.ts";
import type { State } from "../../../../lib/state.ts";

/**
 * A download of one conversation: `?format=json` (the default; every branch, the file
 * `POST /api/conversations/import` takes back) or `?format=markdown` (the visible branch).
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const { store } = ctx.state;
    const owner = ownerOf(ctx.req);
    const id = idParam(ctx);
    const format = ctx.url.searchParams.get("format") ?? "json";
    if (format !== "json" && format !== "markdown") {
      throw new HttpError(400, "invalid_query", "format must be json or markdown.");
    }
    if (format === "json") {
      const data = await storeCall(() => store.exportConversation(owner, id));
      return download(
        JSON.stringify(data, null, 2) + "\n",
        "application/json",
        `${slugOf(data.conversation.title)}.json`,
      );
    }
    const conversation = await storeCall(() => store.getConversation(owner, id));
    const messages = await storeCall(() => store.listMessages(owner, id));
    return download(
      conversationMarkdown(conversation, messages),
      "text/markdown; charset=utf-8",
      `${slugOf(conversation.title)}.md`,
    );
  },
};

function download(body: string, type: string, filename: string): Response {
  return new Response(body, {
    headers: {
      "content-type": type,
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });
}
