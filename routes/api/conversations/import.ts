import { conversationJson, storeCall } from "../../../lib/conversation_http.ts";
import { ownerOf } from "../../../lib/owner.ts";
import { HttpError, json, readJsonObject } from "../../../lib/server/http_error.ts";
import type { Context } from "../../../lib/server/types.ts";
import { checkSettingsLimits, SettingsError } from "../../../lib/settings.ts";
import type { State } from "../../../lib/state.ts";

/**
 * Takes back a file from `GET /api/conversations/:id/export?format=json`. Everything is
 * checked before anything is written; messages already present are skipped, so importing the
 * same file twice inserts nothing the second time.
 */
export const handler = {
  async POST(ctx: Context<State>) {
    const { store, config } = ctx.state;
    let body: Record<string, unknown>;
    try {
      body = await readJsonObject(ctx.req, config.maxImportBytes);
    } catch (error) {
      if (error instanceof HttpError && error.status === 413) {
        throw new HttpError(
          413,
          "import_too_large",
          `The file is larger than this server accepts for an import (${config.maxImportBytes} ` +
            "bytes; IMPORT_MAX_BYTES sets the limit). Nothing was imported.",
        );
      }
      throw error;
    }
    try {
      checkSettingsLimits(body.settings, config.settings);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      throw new HttpError(400, "invalid_import", `Import refused: settings.${error.message}`);
    }
    const result = await storeCall(
      () => store.importConversation(ownerOf(ctx.req), body),
      "invalid_import",
    );
    return json({
      conversation: conversationJson(result.conversation),
      inserted: result.inserted,
      skipped: result.skipped,
      remapped: result.remapped,
    });
  },
};
