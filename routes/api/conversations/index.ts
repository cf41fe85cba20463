import { conversationJson, limitParam, storeCall } from "../../../lib/conversation_http.ts";
import { ownerOf } from "../../../lib/owner.ts";
import { json } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";
import { DEFAULT_PAGE, MAX_PAGE } from "../../../lib/store/store.ts";

/**
 * The owner's conversations, newest activity first, a page at a time:
 * `?limit=` (default 50, at most 200) and `?cursor=` (the previous page's `nextCursor`).
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const limit = limitParam(ctx.url, DEFAULT_PAGE, MAX_PAGE);
    const cursor = ctx.url.searchParams.get("cursor") || null;
    const page = await storeCall(
      () => ctx.state.store.listConversations(ownerOf(ctx.req), { limit, cursor }),
      "invalid_cursor",
    );
    return json({ items: page.items.map(conversationJson), nextCursor: page.nextCursor });
  },
};
