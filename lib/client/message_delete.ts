/**
 * Deleting a message from the page, with Undo. The server removes the message with everything
 * that follows from it (see Store.deleteMessage); the page hides the same subtree at once, puts
 * it back if the server refuses, and offers Undo for the server's window. DOM-free like
 * state.ts: the HTTP calls come in as {@link MessageDeleteApi}.
 */
import { batch, type Signal, signal } from "@preact/signals";
import type { Choices } from "./conversations.ts";
import type { ApiResult } from "./api.ts";
import type { ChatState, Message } from "./state.ts";

export interface MessageDeleteApi {
  remove(conversationId: string, messageId: string): Promise<ApiResult<{ undoWithinMs: number }>>;
  restore(conversationId: string, messageId: string): Promise<ApiResult<{ restored: number }>>;
}

/** What the Undo toast needs: which delete, and the page as it was before it. */
export interface DeletedMessages {
  readonly conversationId: string;
  readonly messageId: string;
  readonly count: number;
  readonly messages: readonly Message[];
  readonly choices: Choices;
}

export interface MessageDeleter {
  /** The last delete, while it can be undone. */
  readonly deleted: Signal<DeletedMessages | undefined>;
  /** Deletes `message` and what follows from it; false when refused (the alert says why). */
  remove(message: Message): Promise<boolean>;
  undo(): Promise<boolean>;
  dismiss(): void;
}

/** The keys of `key` and every message below it. */
export function subtreeKeys(messages: readonly Message[], key: string): Set<string> {
  const keys = new Set([key]);
  // Parents come before children in the list (oldest first), so one pass finds them all.
  for (const m of messages) if (m.parentKey !== null && keys.has(m.parentKey)) keys.add(m.key);
  return keys;
}

export function createMessageDeleter(
  state: ChatState,
  api: MessageDeleteApi,
  deps: {
    /** A failed delete or undo, said plainly. */
    alert(message: string): void;
    /** The page's copy is behind the server's: load the conversation again, quietly. */
    reload(conversationId: string): void;
  },
): MessageDeleter {
  const deleted = signal<DeletedMessages | undefined>(undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;

  const close = () => {
    clearTimeout(timer);
    timer = undefined;
    deleted.value = undefined;
  };

  return {
    deleted,

    async remove(message) {
      const conversationId = state.conversationId.value;
      if (!message.saved || conversationId === undefined || state.busy.value) return false;
      const before = { messages: state.messages.value, choices: state.choices.value };
      const keys = subtreeKeys(before.messages, message.key);
      batch(() => {
        state.messages.value = before.messages.filter((m) => !keys.has(m.key));
        if (state.editing.value !== undefined && keys.has(state.editing.value)) {
          state.editing.value = undefined;
        }
      });
      const result = await api.remove(conversationId, message.id);
      if (!result.ok) {
        // Put it back, unless the person has moved to another conversation meanwhile.
        if (state.conversationId.value === conversationId) {
          batch(() => {
            state.messages.value = before.messages;
            state.choices.value = before.choices;
          });
        }
        deps.alert(result.message);
        return false;
      }
      close();
      deleted.value = {
        conversationId,
        messageId: message.id,
        count: keys.size,
        ...before,
      };
      timer = setTimeout(close, result.value.undoWithinMs);
      return true;
    },

    async undo() {
      const last = deleted.value;
      if (!last) return false;
      close();
      const result = await api.restore(last.conversationId, last.messageId);
      if (!result.ok) {
        deps.alert(result.message);
        return false;
      }
      if (state.conversationId.value === last.conversationId) {
        // The page as it was, plus whatever arrived since; the reload then confirms it.
        const known = new Set(last.messages.map((m) => m.key));
        batch(() => {
          state.messages.value = [
            ...last.messages,
            ...state.messages.value.filter((m) => !known.has(m.key)),
          ];
          state.choices.value = last.choices;
        });
        deps.reload(last.conversationId);
      }
      return true;
    },

    dismiss: close,
  };
}
