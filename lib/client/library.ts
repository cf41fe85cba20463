/**
 * The sidebar's state: the stored conversations (a page at a time), search, rename, delete
 * with undo and import. DOM-free like state.ts: the HTTP calls come in as {@link LibraryApi}
 * (api.ts in the browser) and nothing here is module-level.
 */
import { batch, type Signal, signal } from "@preact/signals";
import type { ApiResult, ConversationPage, SearchHit } from "./api.ts";
import { appendPage, type ConversationSummary, moveToTop } from "./conversations.ts";

export interface LibraryApi {
  list(cursor: string | null): Promise<ApiResult<ConversationPage>>;
  rename(id: string, title: string): Promise<ApiResult<ConversationSummary>>;
  remove(id: string): Promise<ApiResult<{ undoWithinMs: number }>>;
  restore(id: string): Promise<ApiResult<ConversationSummary>>;
  importText(text: string): Promise<ApiResult<ConversationSummary>>;
  search(q: string, signal: AbortSignal): Promise<ApiResult<SearchHit[]>>;
}

export interface DeletedToast {
  readonly conversation: ConversationSummary;
  /** Where it was in the list, to put it back there. */
  readonly index: number;
}

export interface LibraryState {
  readonly conversations: Signal<readonly ConversationSummary[]>;
  /** `undefined` before the first page; `null` once the last page is in. */
  readonly nextCursor: Signal<string | null | undefined>;
  readonly listLoading: Signal<boolean>;
  readonly listError: Signal<string | undefined>;
  readonly query: Signal<string>;
  /** `undefined` when no search is shown. */
  readonly hits: Signal<readonly SearchHit[] | undefined>;
  readonly searching: Signal<boolean>;
  readonly searchError: Signal<string | undefined>;
  readonly deleted: Signal<DeletedToast | undefined>;
  /** A failed action (rename, delete, import), said plainly. */
  readonly alert: Signal<string | undefined>;
  /** The conversation whose title is being edited. */
  readonly renaming: Signal<string | undefined>;
  /** The drawer on narrow screens. */
  readonly drawerOpen: Signal<boolean>;
}

export function createLibraryState(): LibraryState {
  return {
    conversations: signal<readonly ConversationSummary[]>([]),
    nextCursor: signal<string | null | undefined>(undefined),
    listLoading: signal(false),
    listError: signal<string | undefined>(undefined),
    query: signal(""),
    hits: signal<readonly SearchHit[] | undefined>(undefined),
    searching: signal(false),
    searchError: signal<string | undefined>(undefined),
    deleted: signal<DeletedToast | undefined>(undefined),
    alert: signal<string | undefined>(undefined),
    renaming: signal<string | undefined>(undefined),
    drawerOpen: signal(false),
  };
}

export const SEARCH_DELAY_MS = 200;

export interface LibraryController {
  /** The next page of the list (the first when none is loaded). */
  loadMore(): Promise<void>;
  /** The list again from the top. */
  refresh(): Promise<void>;
  /** A conversation had activity (or was just made): first in the list. */
  touch(info: { id: string; title?: string }): void;
  rename(id: string, title: string): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  undo(): Promise<void>;
  /** Sets the query; the search runs after a pause in typing. */
  setQuery(q: string): void;
  /** Imports a file's text; the new conversation, or undefined (the alert says why). */
  importText(text: string): Promise<ConversationSummary | undefined>;
  dispose(): void;
}

export function createLibraryController(
  state: LibraryState,
  api: LibraryApi,
  now: () => number = Date.now,
): LibraryController {
  let loading: Promise<void> | undefined;
  let generation = 0;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  let searchAbort: AbortController | undefined;
  let toastTimer: ReturnType<typeof setTimeout> | undefined;

  function closeToast(): void {
    clearTimeout(toastTimer);
    toastTimer = undefined;
    state.deleted.value = undefined;
  }

  async function runSearch(q: string): Promise<void> {
    searchAbort?.abort();
    const abort = new AbortController();
    searchAbort = abort;
    state.searching.value = true;
    const result = await api.search(q, abort.signal);
    if (abort.signal.aborted) return;
    batch(() => {
      state.searching.value = false;
      if (result.ok) {
        state.hits.value = result.value;
        state.searchError.value = undefined;
      } else {
        state.hits.value = [];
        state.searchError.value = result.message;
      }
    });
  }

  const controller: LibraryController = {
    loadMore() {
      if (loading) return loading;
      if (state.nextCursor.value === null) return Promise.resolve();
      const mine = generation;
      state.listLoading.value = true;
      loading = (async () => {
        const result = await api.list(state.nextCursor.value ?? null);
        loading = undefined;
        if (mine !== generation) return;
        batch(() => {
          state.listLoading.value = false;
          if (result.ok) {
            state.conversations.value = appendPage(state.conversations.value, result.value.items);
            state.nextCursor.value = result.value.nextCursor;
            state.listError.value = undefined;
          } else {
            state.listError.value = result.message;
          }
        });
      })();
      return loading;
    },

    refresh() {
      generation++;
      loading = undefined;
      batch(() => {
        state.conversations.value = [];
        state.nextCursor.value = undefined;
      });
      return controller.loadMore();
    },

    touch({ id, title }) {
      const known = state.conversations.value.find((c) => c.id === id);
      const at = now();
      state.conversations.value = moveToTop(state.conversations.value, {
        id,
        title: title ?? known?.title ?? "New chat",
        createdAt: known?.createdAt ?? at,
        updatedAt: at,
      });
    },

    async rename(id, title) {
      const trimmed = title.trim();
      if (!trimmed) return false;
      const result = await api.rename(id, trimmed);
      if (!result.ok) {
        state.alert.value = result.message;
        return false;
      }
      batch(() => {
        state.conversations.value = state.conversations.value.map((c) =>
          c.id === id ? { ...c, title: result.value.title } : c
        );
        state.alert.value = undefined;
      });
      return true;
    },

    async remove(id) {
      const index = state.conversations.value.findIndex((c) => c.id === id);
      const conversation = state.conversations.value[index];
      const result = await api.remove(id);
      if (!result.ok) {
        state.alert.value = result.message;
        return false;
      }
      closeToast();
      batch(() => {
        state.conversations.value = state.conversations.value.filter((c) => c.id !== id);
        if (state.hits.value) {
          state.hits.value = state.hits.value.filter((h) => h.conversationId !== id);
        }
        state.alert.value = undefined;
        state.deleted.value = {
          conversation: conversation ?? { id, title: "", createdAt: 0, updatedAt: 0 },
          index: Math.max(0, index),
        };
      });
      toastTimer = setTimeout(closeToast, result.value.undoWithinMs);
      return true;
    },

    async undo() {
      const deleted = state.deleted.value;
      if (!deleted) return;
      closeToast();
      const result = await api.restore(deleted.conversation.id);
      if (!result.ok) {
        state.alert.value = result.message;
        return;
      }
      const list = state.conversations.value.filter((c) => c.id !== result.value.id);
      const index = Math.min(deleted.index, list.length);
      state.conversations.value = [...list.slice(0, index), result.value, ...list.slice(index)];
    },

    setQuery(q) {
      state.query.value = q;
      clearTimeout(searchTimer);
      const trimmed = q.trim();
      if (!trimmed) {
        searchAbort?.abort();
        batch(() => {
          state.hits.value = undefined;
          state.searching.value = false;
          state.searchError.value = undefined;
        });
        return;
      }
      searchTimer = setTimeout(() => runSearch(trimmed), SEARCH_DELAY_MS);
    },

    async importText(text) {
      const result = await api.importText(text);
      if (!result.ok) {
        state.alert.value = result.message;
        return undefined;
      }
      state.alert.value = undefined;
      controller.touch(result.value);
      return result.value;
    },

    dispose() {
      clearTimeout(searchTimer);
      searchAbort?.abort();
      closeToast();
      generation++;
    },
  };
  return controller;
}
