import { conversationJson, idParam, storeCall } from "../../../../lib/conversation_http.ts";
import { ownerOf } from "../../../../lib/owner.ts";
import { json } from "../../../../lib/server/http_error.ts";
import type { Context } from "../../../../lib/server/types.ts";
import type { State } from "../../../../lib/state.ts";

/** Undoes a delete while the conversation is not yet purged (`UNDO_WINDOW`); 404 after. */
export const handler = {
  async POST(ctx: Context<State>) {
    const id = idParam(ctx);
    const restored = await storeCall(() =>
      ctx.state.store.restoreConversation(ownerOf(ctx.req), id)
    );
    return json(conversationJson(restored));
  },
};
