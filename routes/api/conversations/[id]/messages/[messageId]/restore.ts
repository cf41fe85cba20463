import { idParam, storeCall } from "../../../../../../lib/conversation_http.ts";
import { trashOf } from "../../../../../../lib/message_trash.ts";
import { ownerOf } from "../../../../../../lib/owner.ts";
import { HttpError, json } from "../../../../../../lib/server/http_error.ts";
import type { Context } from "../../../../../../lib/server/types.ts";
import type { State } from "../../../../../../lib/state.ts";

/** Undoes a message delete within `UNDO_WINDOW`; 404 `undo_expired` after (or after a restart). */
export const handler = {
  async POST(ctx: Context<State>) {
    const { store } = ctx.state;
    const owner = ownerOf(ctx.req);
    const conversationId = idParam(ctx);
    const messageId = idParam(ctx, "messageId");
    const trash = trashOf(store);
    const rows = trash.take(owner, messageId);
    if (!rows || rows[0]?.conversationId !== conversationId) {
      if (rows) trash.put(owner, messageId, rows, ctx.state.config.undoWindowMs);
      throw new HttpError(
        404,
        "undo_expired",
        "There is no deleted message to restore here: the undo window has passed.",
      );
    }
    const restored = await storeCall(() => store.restoreMessages(owner, rows));
    return json({ restored });
  },
};
