import { conversationJson, limitParam, storeCall } from "../../../lib/conversation_http.ts";
import { ownerOf } from "../../../lib/owner.ts";
import { NEW_CHAT_TITLE } from "../../../lib/chat/history.ts";
import { json, readJsonObject } from "../../../lib/server/http_error.ts";
import { parseSettingsPatch, settingsDefaults, settingsFromPatch } from "../../../lib/settings.ts";
import { settingsCall, settingsJson, settingsMember } from "../../../lib/settings_http.ts";
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

  /**
   * A conversation with no message yet, with `settings` (docs/settings.md): saving settings in
   * a new chat creates it, so its first answer already follows them. Its title comes from the
   * first prompt.
   */
  POST(ctx: Context<State>) {
    return settingsCall(async () => {
      const { store, config, backend } = ctx.state;
      const owner = ownerOf(ctx.req);
      const body = await readJsonObject(ctx.req, config.limits.maxBodyBytes);
      const settings = settingsFromPatch(parseSettingsPatch(settingsMember(body), config.settings));
      const conversation = await store.createConversation(owner, { title: NEW_CHAT_TITLE });
      const saved = await store.setSettings(owner, conversation.id, settings);
      return json({
        conversation: conversationJson(conversation),
        ...settingsJson(saved, settingsDefaults(config, backend.defaultModel()), config.settings),
      }, 201);
    });
  },
};
