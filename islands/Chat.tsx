/**
 * The chat island: server-rendered shell, hydrated in the browser. All browser work (socket,
 * fetch, localStorage, listeners) happens in effects; state is created per instance.
 */
import { useEffect, useMemo, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { fetchModels, loadModel } from "../lib/client/api.ts";
import { Composer, MessageList, ModelPicker, StatusBadge } from "../lib/client/components.tsx";
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
}

const MODEL_KEY = "chat.model";
/** Pixels from the bottom that still count as "at the bottom" for auto-scroll. */
const BOTTOM_SLACK = 32;

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

export default function Chat({ title, defaultModel }: ChatProps) {
  const state = useMemo(() => createChatState(defaultModel), [defaultModel]);
  const socketRef = useRef<ChatSocket | undefined>(undefined);
  const controller = useMemo(
    () =>
      createChatController(state, {
        send: (message) => socketRef.current?.send(message) ?? false,
        isOpen: () => socketRef.current?.isOpen ?? false,
        schedule: nextFrame,
        newId: () => crypto.randomUUID(),
        now: () => performance.now(),
      }),
    [state],
  );
  const hydrated = useSignal(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const scrollerRef = useRef<HTMLElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const stickToBottom = useRef(true);
  const lastScrollTop = useRef(0);
  const loadToken = useRef(0);

  // The socket: open on mount, reconnect forever, close on unmount.
  useEffect(() => {
    const socket = new ChatSocket(socketUrl(), {
      onStatus(status, retryInMs) {
        state.connection.value = status;
        state.retryInMs.value = retryInMs;
      },
      onOpen: () => controller.handleOpen(),
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
  }, [state, controller]);

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
        state.model.value = pickModel(result.value.models, serverDefault, readSavedModel());
      } else {
        state.models.value = [];
        state.modelsError.value = result.message;
        state.model.value = defaultModel;
      }
      state.modelsLoaded.value = true;
    });
    return () => abort.abort();
  }, [state, defaultModel]);

  // Escape stops a streaming answer.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && state.busy.value) {
        event.preventDefault();
        controller.stop();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [state, controller]);

  // Keep the newest text in view, unless the person scrolled up to read.
  useEffect(() => {
    const scroller = scrollerRef.current;
    const log = logRef.current;
    if (!scroller || !log || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stickToBottom.current) scroller.scrollTop = scroller.scrollHeight;
    });
    observer.observe(log);
    return () => observer.disconnect();
  }, []);

  // Only the person moving up unsticks: a scroll event that arrives after the text grew again
  // (ours, late) must not count as "scrolled away".
  const onScroll = () => {
    const el = scrollerRef.current;
    if (!el) return;
    const top = el.scrollTop;
    if (el.scrollHeight - top - el.clientHeight <= BOTTOM_SLACK) stickToBottom.current = true;
    else if (top < lastScrollTop.current - 1) stickToBottom.current = false;
    lastScrollTop.current = top;
  };

  const scrollToEnd = () => {
    stickToBottom.current = true;
    const el = scrollerRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  const onSubmit = () => {
    if (controller.submit()) {
      scrollToEnd();
      textareaRef.current?.focus();
    }
  };

  const onStop = () => {
    controller.stop();
    textareaRef.current?.focus();
  };

  const onRetry = (message: AssistantMessage) => {
    controller.retry(message);
    scrollToEnd();
  };

  const onModelChange = async (model: string) => {
    state.model.value = model;
    saveModel(model);
    const token = ++loadToken.current;
    state.modelLoad.value = { state: "loading", model };
    const result = await loadModel(model, (progress) => {
      if (token === loadToken.current) {
        state.modelLoad.value = { state: "loading", model, progress };
      }
    });
    if (token !== loadToken.current) return; // another choice came after this one
    if (result.ok) {
      state.modelLoad.value = { state: "loaded", model };
      state.models.value = state.models.value.map((m) =>
        m.name === model ? { ...m, loaded: true, available: true } : m
      );
    } else {
      state.modelLoad.value = { state: "error", model, message: result.message };
    }
  };

  const hasMessages = state.messages.value.length > 0;

  return (
    <div class="app" ref={rootRef} data-hydrated={hydrated.value ? "true" : undefined}>
      <header class="topbar">
        <div class="topbar-inner">
          <h1 class="title">{title}</h1>
          <ModelPicker state={state} onChange={onModelChange} />
          <div class="topbar-end">
            <StatusBadge state={state} />
            <button
              type="button"
              class="btn btn-ghost btn-small"
              disabled={!hasMessages}
              onClick={() => {
                controller.clear();
                textareaRef.current?.focus();
              }}
            >
              New chat
            </button>
          </div>
        </div>
      </header>
      <MessageList
        state={state}
        onRetry={onRetry}
        scrollerRef={scrollerRef}
        logRef={logRef}
        onScroll={onScroll}
      />
      <Composer state={state} onSubmit={onSubmit} onStop={onStop} textareaRef={textareaRef} />
    </div>
  );
}
