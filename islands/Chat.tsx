/**
 * The chat island: server-rendered shell, hydrated in the browser. All browser work (socket,
 * fetch, localStorage, listeners) happens in effects; state is created per instance.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import {
  deleteConversation,
  deleteMessage,
  fetchModels,
  getConversation,
  importConversation,
  listConversations,
  loadModel,
  renameConversation,
  restoreConversation,
  restoreMessage,
  searchConversations,
} from "../lib/client/api.ts";
import { announcementOf, Announcer, OfflineBanner } from "../lib/client/banners.tsx";
import { ExportMenu } from "../lib/client/export_menu.tsx";
import { IconLabel } from "../lib/client/header_icons.tsx";
import { loadRenderer } from "../lib/client/markdown.ts";
import { createMessageDeleter } from "../lib/client/message_delete.ts";
import { shortcutOf } from "../lib/client/shortcuts.ts";
import type { ThemeChoice } from "../lib/client/theme.ts";
import {
  Composer,
  type MessageActions,
  MessageList,
  ModelPicker,
  StatusBadge,
} from "../lib/client/components.tsx";
import { conversationIdOf, conversationPath } from "../lib/client/conversations.ts";
import { createLibraryController, createLibraryState } from "../lib/client/library.ts";
import { JumpToLatest } from "../lib/client/jump_to_latest.tsx";
import { ScrollFollower } from "../lib/client/scroll.ts";
import { Sidebar, Toasts } from "../lib/client/sidebar.tsx";
import { conversationModel, rememberModel } from "../lib/client/settings.ts";
import { SettingsButton } from "../lib/client/settings_button.tsx";
import { ChatSocket, socketUrl } from "../lib/client/socket.ts";
import {
  type AssistantMessage,
  createChatController,
  createChatState,
  pickModel,
} from "../lib/client/state.ts";

export interface ChatProps {
  /** Shown in the header and the `<h1>`. */
  readonly title: string;
  /** The server's default model, e.g. `llama3.2`; selected unless the person chose another. */
  readonly defaultModel: string;
  /** The stored conversation this page shows (`/c/<id>`); none for a new chat. */
  readonly conversationId?: string;
  /** The theme the server rendered (from the theme cookie). */
  readonly theme?: ThemeChoice;
}

const MODEL_KEY = "chat.model";
/** How long a message opened from search stays marked. */
const HIGHLIGHT_MS = 2000;
const SIDEBAR_ID = "conversations-sidebar";
const SEARCH_ID = "conversation-search";
/** Where the sidebar is a drawer (styles.css). */
const DRAWER_MEDIA = "(max-width: 768px)";
const MISSING = "This conversation does not exist (it may have been deleted). " +
  "Start a new chat or pick another conversation.";

function readSavedModel(): string | undefined {
  try {
    return localStorage.getItem(MODEL_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function saveModel(model: string): void {
  try {
    localStorage.setItem(MODEL_KEY, model);
  } catch {
    // storage unavailable (private mode, quota): the choice lasts for this page only
  }
}

/** requestAnimationFrame, with a timer in case the tab is hidden and frames don't come. */
function nextFrame(fn: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    fn();
  };
  const frame = requestAnimationFrame(run);
  const timer = setTimeout(run, 100);
}

export default function Chat(
  { title, defaultModel, conversationId, theme = "system" }: ChatProps,
) {
  const state = useMemo(() => createChatState(defaultModel), [defaultModel]);
  const library = useMemo(() => createLibraryState(), []);
  const libraryController = useMemo(
    () =>
      createLibraryController(library, {
        list: (cursor) => listConversations(cursor),
        rename: renameConversation,
        remove: deleteConversation,
        restore: restoreConversation,
        importText: importConversation,
        search: (q, signal) => searchConversations(q, signal),
      }),
    [library],
  );
  const socketRef = useRef<ChatSocket | undefined>(undefined);
  /** Bumped by every navigation, so a late load of another conversation is dropped. */
  const loadToken = useRef(0);
  const loadRef = useRef<(id: string, options?: LoadOptions) => void>(() => {});
  const controller = useMemo(
    () =>
      createChatController(state, {
        send: (message) => socketRef.current?.send(message) ?? false,
        isOpen: () => socketRef.current?.isOpen ?? false,
        schedule: nextFrame,
        newId: () => crypto.randomUUID(),
        now: () => performance.now(),
        onConversation({ id, title, current }) {
          libraryController.touch({ id, ...(title !== undefined ? { title } : {}) });
          if (current && conversationIdOf(location.pathname) !== id) {
            history.replaceState(null, "", conversationPath(id));
          }
        },
        reload: (id) => loadRef.current(id, { quiet: true }),
      }),
    [state, libraryController],
  );
  const deleter = useMemo(
    () =>
      createMessageDeleter(state, { remove: deleteMessage, restore: restoreMessage }, {
        alert: (message) => (library.alert.value = message),
        reload: (id) => loadRef.current(id, { quiet: true }),
      }),
    [state, library],
  );
  const announcement = useSignal("");
  const hydrated = useSignal(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const scrollerRef = useRef<HTMLElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const follower = useMemo(() => new ScrollFollower(), []);
  const drawerToggleRef = useRef<HTMLButtonElement>(null);
  const modelToken = useRef(0);
  /** The model of the conversation opened first, preferred to the saved choice. */
  const conversationModelRef = useRef<string | undefined>(undefined);

  interface LoadOptions {
    /** A message to bring into view (its branch is shown). */
    readonly focus?: string;
    /** Reload of the conversation shown: keep it on screen meanwhile. */
    readonly quiet?: boolean;
  }

  const loadConversation = async (id: string, options: LoadOptions = {}) => {
    const token = ++loadToken.current;
    if (!options.quiet) {
      controller.clear();
      state.load.value = { state: "loading" };
    }
    loadRenderer(); // in parallel with the conversation itself
    const [result, model] = await Promise.all([getConversation(id), conversationModel(id)]);
    if (token !== loadToken.current) return;
    if (result.ok) {
      if (options.focus === undefined) follower.stick();
      else follower.release();
      controller.load(result.value, options.focus);
      // The conversation's own model is selected while it is shown (docs/settings.md).
      if (model !== undefined) state.model.value = conversationModelRef.current = model;
      return;
    }
    if (options.quiet) return;
    state.load.value = result.status === 404
      ? { state: "missing", message: MISSING }
      : { state: "failed", message: result.message };
  };
  loadRef.current = loadConversation;

  const openConversation = (id: string, focus?: string) => {
    library.drawerOpen.value = false;
    if (id === state.conversationId.value && focus === undefined) return;
    if (conversationIdOf(location.pathname) !== id) {
      history.pushState(null, "", conversationPath(id));
    }
    loadConversation(id, focus !== undefined ? { focus } : {});
  };

  const newChat = (push: boolean) => {
    loadToken.current++;
    controller.clear();
    library.drawerOpen.value = false;
    if (push && location.pathname !== "/") history.pushState(null, "", "/");
    follower.stick();
    textareaRef.current?.focus();
  };

  // The socket: open on mount, reconnect forever, close on unmount.
  useEffect(() => {
    let opened = false;
    const socket = new ChatSocket(socketUrl(), {
      onStatus(status, retryInMs) {
        state.connection.value = status;
        state.retryInMs.value = retryInMs;
      },
      onOpen: () => {
        controller.handleOpen();
        // Back after a drop: the list may have changed meanwhile.
        if (opened) libraryController.refresh();
        opened = true;
      },
      onFrame: (frame) => controller.handleFrame(frame),
      onClose: (code) => controller.handleClose(code),
    });
    socketRef.current = socket;
    socket.start();
    hydrated.value = true;
    return () => {
      socket.stop();
      socketRef.current = undefined;
    };
  }, [state, controller, libraryController]);

  // The conversation of the URL, the list, and the browser's back and forward.
  useEffect(() => {
    if (conversationId) loadConversation(conversationId);
    libraryController.loadMore();
    const onPop = () => {
      const id = conversationIdOf(location.pathname);
      if (id === undefined) newChat(false);
      else if (id !== state.conversationId.value) loadConversation(id);
    };
    addEventListener("popstate", onPop);
    return () => {
      removeEventListener("popstate", onPop);
      libraryController.dispose();
    };
  }, [controller, libraryController]);

  // The tab's title follows the conversation.
  const conversationTitle = state.title.value;
  useEffect(() => {
    document.title = conversationTitle ? `${conversationTitle} · ${title}` : title;
  }, [conversationTitle, title]);

  // A search hit: scroll to it and mark it for a moment.
  const highlight = state.highlight.value;
  useEffect(() => {
    if (highlight === undefined) return;
    follower.release();
    const el = document.getElementById(`m-${highlight}`);
    el?.scrollIntoView({ block: "center" });
    const timer = setTimeout(() => (state.highlight.value = undefined), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [highlight]);

  // The model list, and the saved choice.
  useEffect(() => {
    const abort = new AbortController();
    fetchModels(abort.signal).then((result) => {
      if (abort.signal.aborted) return;
      if (result.ok) {
        state.models.value = result.value.models;
        state.modelsError.value = undefined;
        // The server's default follows Ollama coming and going, so prefer its current word.
        const serverDefault = result.value.defaultModel ?? defaultModel;
        state.model.value = pickModel(
          result.value.models,
          serverDefault,
          conversationModelRef.current ?? readSavedModel(),
        );
      } else {
        state.models.value = [];
        state.modelsError.value = result.message;
        state.model.value = defaultModel;
      }
      state.modelsLoaded.value = true;
    });
    return () => abort.abort();
  }, [state, defaultModel]);

  // Document-wide shortcuts (lib/client/shortcuts.ts). Escape stops a streaming answer unless
  // a field used it to cancel something.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return;
      switch (shortcutOf(event)) {
        case "stop":
          if (library.drawerOpen.value) {
            // The drawer (narrow screens) closes first, back to its toggle.
            event.preventDefault();
            library.drawerOpen.value = false;
            drawerToggleRef.current?.focus();
          } else if (state.busy.value) {
            event.preventDefault();
            onStop();
          }
          return;
        case "search":
          event.preventDefault();
          if (matchMedia(DRAWER_MEDIA).matches) library.drawerOpen.value = true;
          // The drawer becomes visible on the next frame; focus can only land then.
          nextFrame(() => document.getElementById(SEARCH_ID)?.focus());
          return;
        case "newChat":
          event.preventDefault();
          newChat(true);
          return;
        default:
          return;
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [state, controller]);

  // Each answer is read out once, when it ends (the log itself stays quiet).
  const active = state.active.value;
  useEffect(() => {
    if (!active) return;
    const message: AssistantMessage = active;
    return () => {
      const status = message.status.value;
      if (status === "pending" || status === "streaming") return; // navigated away
      announcement.value = announcementOf(
        status,
        message.content.value,
        message.error.value?.message,
      );
    };
  }, [active]);

  // Keep the newest text in view, unless the person scrolled up to read.
  useEffect(() => {
    const scroller = scrollerRef.current;
    const log = logRef.current;
    return scroller && log ? follower.attach(scroller, log) : undefined;
  }, [follower]);

  const onScroll = follower.onScroll;
  const scrollToEnd = follower.toEnd;

  const onSubmit = () => {
    if (state.load.value.state === "loading") return;
    if (state.load.value.state !== "idle") state.load.value = { state: "idle" };
    if (controller.submit()) {
      scrollToEnd();
      textareaRef.current?.focus();
    }
  };

  const onStop = () => {
    controller.stop();
    textareaRef.current?.focus();
  };

  const actions: MessageActions = {
    onRetry(message) {
      controller.retry(message);
      scrollToEnd();
    },
    onRegenerate(message) {
      if (controller.regenerate(message)) scrollToEnd();
    },
    onContinue(message) {
      controller.continueAnswer(message);
    },
    onEdit(message, text) {
      if (controller.edit(message, text)) scrollToEnd();
    },
    onEditing(key) {
      state.editing.value = key;
      if (key === undefined) textareaRef.current?.focus();
    },
    onVersion: (message, step) => controller.showVersion(message, step),
    async onDelete(message) {
      if (await deleter.remove(message)) textareaRef.current?.focus();
    },
  };

  /** ↑ in the empty message box: the last prompt shown opens for editing. */
  const onEditLast = () => {
    if (state.busy.value) return false;
    const last = state.visible.value.findLast((m) => m.kind === "user" && m.saved);
    if (!last) return false;
    state.editing.value = last.key;
    return true;
  };

  const onExample = (prompt: string) => {
    state.input.value = prompt;
    onSubmit();
  };

  const onModelChange = async (model: string) => {
    state.model.value = model;
    saveModel(model);
    if (state.conversationId.value) rememberModel(state.conversationId.value, model);
    const token = ++modelToken.current;
    state.modelLoad.value = { state: "loading", model };
    const result = await loadModel(model, (progress) => {
      if (token === modelToken.current) {
        state.modelLoad.value = { state: "loading", model, progress };
      }
    });
    if (token !== modelToken.current) return; // another choice came after this one
    if (result.ok) {
      state.modelLoad.value = { state: "loaded", model };
      state.models.value = state.models.value.map((m) =>
        m.name === model ? { ...m, loaded: true, available: true } : m
      );
    } else {
      state.modelLoad.value = { state: "error", model, message: result.message };
    }
  };

  const currentId = state.conversationId.value;
  const hasMessages = state.messages.value.length > 0 || currentId !== undefined ||
    state.load.value.state !== "idle";
  const drawerOpen = library.drawerOpen.value;

  return (
    <div
      class="app"
      ref={rootRef}
      data-hydrated={hydrated.value ? "true" : undefined}
      data-drawer={drawerOpen ? "open" : undefined}
    >
      <Sidebar
        id={SIDEBAR_ID}
        library={library}
        controller={libraryController}
        currentId={currentId}
        onOpen={openConversation}
        onDeletedCurrent={() => newChat(true)}
        searchId={SEARCH_ID}
        theme={theme}
      />
      {drawerOpen && (
        <div
          class="drawer-backdrop"
          aria-hidden="true"
          onClick={() => (library.drawerOpen.value = false)}
        />
      )}
      <div class="main">
        <header class="topbar">
          <div class="topbar-inner">
            <button
              type="button"
              class="btn btn-ghost btn-small drawer-toggle"
              ref={drawerToggleRef}
              aria-expanded={drawerOpen ? "true" : "false"}
              aria-controls={SIDEBAR_ID}
              onClick={() => (library.drawerOpen.value = !drawerOpen)}
            >
              <IconLabel icon="menu">Conversations</IconLabel>
            </button>
            <h1 class="title">{title}</h1>
            <ModelPicker state={state} onChange={onModelChange} />
            <div class="topbar-end">
              <StatusBadge state={state} />
              {currentId !== undefined && <ExportMenu conversationId={currentId} />}
              <SettingsButton
                conversationId={currentId}
                model={state.model.value}
                onCreated={(conversation) => {
                  controller.load({ conversation, messages: [] });
                  history.replaceState(null, "", conversationPath(conversation.id));
                  libraryController.touch(conversation);
                }}
              />
              <button
                type="button"
                class="btn btn-ghost btn-small"
                disabled={!hasMessages}
                title="New chat (Ctrl+Shift+O)"
                onClick={() => newChat(true)}
              >
                <IconLabel icon="new">New chat</IconLabel>
              </button>
            </div>
          </div>
        </header>
        <OfflineBanner state={state} />
        <MessageList
          state={state}
          actions={actions}
          scrollerRef={scrollerRef}
          logRef={logRef}
          onScroll={onScroll}
          onExample={onExample}
        />
        <JumpToLatest follower={follower} />
        <Composer
          state={state}
          onSubmit={onSubmit}
          onStop={onStop}
          onEditLast={onEditLast}
          textareaRef={textareaRef}
        />
      </div>
      <Announcer text={announcement} />
      <Toasts library={library} controller={libraryController} deleter={deleter} />
    </div>
  );
}
