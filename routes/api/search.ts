import { limitParam, searchHitJson, storeCall } from "../../lib/conversation_http.ts";
import { ownerOf } from "../../lib/owner.ts";
import { HttpError, json } from "../../lib/server/http_error.ts";
import type { Context } from "../../lib/server/types.ts";
import type { State } from "../../lib/state.ts";
import { MAX_SEARCH } from "../../lib/store/store.ts";

const DEFAULT_HITS = 20;
const MAX_QUERY = 500;

/**
 * Full-text search over the owner's live conversations, newest first: `?q=` (required) and
 * `?limit=` (default 20, at most 100). Each hit's `snippet` is HTML: the text escaped, the
 * matches inside `<mark>`.
 */
export const handler = {
  async GET(ctx: Context<State>) {
    const q = (ctx.url.searchParams.get("q") ?? "").trim();
    if (q === "") throw new HttpError(400, "invalid_query", "Give something to search for: ?q=…");
    if (q.length > MAX_QUERY) {
      throw new HttpError(400, "invalid_query", `A search is at most ${MAX_QUERY} characters.`);
    }
    const limit = limitParam(ctx.url, DEFAULT_HITS, MAX_SEARCH);
    const hits = await storeCall(
      () => ctx.state.store.search(ownerOf(ctx.req), q, { limit }),
      "invalid_query",
    );
    return json({ hits: hits.map(searchHitJson) });
  },
};
