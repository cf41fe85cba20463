import { idParam, storeCall } from "../../../../../lib/conversation_http.ts";
import { trashOf } from "../../../../../lib/message_trash.ts";
import { ownerOf } from "../../../../../lib/owner.ts";
import { HttpError, json } from "../../../../../lib/server/http_error.ts";
import type { Context } from "../../../../../lib/server/types.ts";
import type { State } from "../../../../../lib/state.ts";

/**
 * DELETE one message with everything that follows from it (its answers, the later turns of
 * its branch); its other versions stay. `POST …/restore` undoes it within `undoWithinMs`.
 * 409 while an answer there is still streaming.
 */
export const handler = {
  async DELETE(ctx: Context<State>) {
    const { store, config } = ctx.state;
    const owner = ownerOf(ctx.req);
    const conversationId = idParam(ctx);
    const messageId = idParam(ctx, "messageId");
    const message = await storeCall(() => store.getMessage(owner, messageId));
    if (message.conversationId !== conversationId) {
      throw new HttpError(
        404,
        "not_found",
        `No message ${JSON.stringify(messageId.slice(0, 64))} in this conversation.`,
      );
    }
    const removed = await storeCall(() => store.deleteMessage(owner, messageId));
    trashOf(store).put(owner, messageId, removed, config.undoWindowMs);
    return json({ deleted: removed.map((m) => m.id), undoWithinMs: config.undoWindowMs });
  },
};
