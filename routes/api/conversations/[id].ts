import {
  conversationJson,
  idParam,
  messageJson,
  storeCall,
} from "../../../lib/conversation_http.ts";
import { ownerOf } from "../../../lib/owner.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import type { State } from "../../../lib/state.ts";

const MAX_TITLE = 200;

/**
 * One conversation: GET it with every message of every branch (oldest first), PATCH its
 * title, DELETE it (soft: `POST …/restore` undoes it within `undoWithinMs`).
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const { store } = ctx.state;
    const owner = ownerOf(ctx.req);
    const id = idParam(ctx);
    const conversation = await storeCall(() => store.getConversation(owner, id));
    const messages = await storeCall(() => store.listMessages(owner, id));
    return json({
      conversation: conversationJson(conversation),
      messages: messages.map(messageJson),
    });
  },

  async PATCH(ctx: Context<State>) {
    const { store, config } = ctx.state;
    const id = idParam(ctx);
    const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
    const title = typeof body.title === "string" ? body.title.trim() : undefined;
    const length = title === undefined ? 0 : [...title].length;
    if (title === undefined || length < 1 || length > MAX_TITLE) {
      throw new HttpError(
        400,
        "invalid_title",
        `The body needs "title", a text of 1 to ${MAX_TITLE} characters (not only spaces).`,
      );
    }
    const renamed = await storeCall(() => store.renameConversation(ownerOf(ctx.req), id, title));
    return json(conversationJson(renamed));
  },

  async DELETE(ctx: Context<State>) {
    const { store, config } = ctx.state;
    const id = idParam(ctx);
    await storeCall(() => store.deleteConversation(ownerOf(ctx.req), id));
    return json({ deleted: true, undoWithinMs: config.undoWindowMs });
  },
};
