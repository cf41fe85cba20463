/**
 * Page-wide states: the offline banner (the browser says it is offline, or the socket has been
 * down for a while) and the polite announcement of each finished answer for screen readers
 * (the message log itself stays quiet, or every token would be read out).
 */
import { useEffect, useState } from "preact/hooks";
import type { Signal } from "@preact/signals";
import type { ChatState } from "./state.ts";

/** A socket down for less than this is a blip (a server restart): the status badge says it. */
export const OFFLINE_AFTER_MS = 4000;

function useBrowserOnline(): boolean {
  const [online, setOnline] = useState(true);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    update();
    addEventListener("online", update);
    addEventListener("offline", update);
    return () => {
      removeEventListener("online", update);
      removeEventListener("offline", update);
    };
  }, []);
  return online;
}

export function OfflineBanner({ state }: { state: ChatState }) {
  const online = useBrowserOnline();
  const status = state.connection.value;
  const [longDown, setLongDown] = useState(false);
  useEffect(() => {
    if (status === "connected") {
      setLongDown(false);
      return;
    }
    const timer = setTimeout(() => setLongDown(true), OFFLINE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [status]);
  const text = !online
    ? "You are offline. What you write stays here; send it once the connection is back."
    : longDown
    ? "The server can't be reached. Reconnecting… Answers continue where they stopped."
    : undefined;
  return (
    // A live region without a role: the connection badge is the page's one `status`.
    <div class="offline-banner" aria-live="polite" data-testid="offline" hidden={!text}>
      {text}
    </div>
  );
}

/** Visually hidden; says each answer once, when it ends. */
export function Announcer({ text }: { text: Signal<string> }) {
  return (
    <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {text.value}
    </div>
  );
}

/** Longest part of an answer read out; the rest is in the log. */
const ANNOUNCE_CHARS = 600;

/** What to say when an answer stops streaming. */
export function announcementOf(
  status: string,
  content: string,
  error: string | undefined,
): string {
  const text = content.length > ANNOUNCE_CHARS ? `${content.slice(0, ANNOUNCE_CHARS)}…` : content;
  switch (status) {
    case "error":
      return `The answer failed. ${error ?? ""}`.trim();
    case "stopped":
      return `Answer stopped. ${text}`.trim();
    case "length":
      return `Answer cut off at the model's length limit. ${text}`;
    default:
      return `Answer: ${text}`;
  }
}
