/**
 * A conversation's visible branch as Markdown, for download: from the first message, at each
 * step the newest version (the latest sibling), as the page shows it by default. The content
 * is the person's own data and is written as is; this text is never rendered by the app.
 */
import type { Conversation, Message } from "./store/store.ts";

/** The visible branch: the newest first message, then the newest child of each, and so on. */
export function visibleBranch(messages: readonly Message[]): Message[] {
  const newest = new Map<string | null, Message>();
  for (const m of messages) {
    const current = newest.get(m.parentId);
    // Ids are time-ordered, so they break ties between messages of one millisecond.
    if (
      !current || m.createdAt > current.createdAt ||
      (m.createdAt === current.createdAt && m.id > current.id)
    ) {
      newest.set(m.parentId, m);
    }
  }
  const branch: Message[] = [];
  const seen = new Set<string>();
  let next = newest.get(null);
  while (next && !seen.has(next.id)) {
    seen.add(next.id);
    branch.push(next);
    next = newest.get(next.id);
  }
  return branch;
}

function speaker(m: Message): string {
  if (m.role === "user") return "**You**";
  if (m.role === "system") return "**System**";
  return m.model ? `**Assistant** (${m.model})` : "**Assistant**";
}

/** An italic line for an answer that did not end normally; `undefined` for one that did. */
function endNote(m: Message): string | undefined {
  switch (m.state) {
    case "stopped":
      return "*Stopped before the end.*";
    case "interrupted":
      return "*Interrupted: the server stopped while writing this answer.*";
    case "streaming":
      return "*Still being written when exported.*";
    case "error": {
      const why = (m.errorMessage ?? m.errorCode ?? "").replace(/\s+/g, " ").trim();
      return why === "" ? "*Failed.*" : `*Failed: ${why.replace(/\*/g, "\\*")}*`;
    }
    default:
      return undefined;
  }
}

export function conversationMarkdown(
  conversation: Conversation,
  messages: readonly Message[],
): string {
  const title = conversation.title.replace(/\s+/g, " ").trim() || "Untitled conversation";
  const parts = [`# ${title}`];
  for (const m of visibleBranch(messages)) {
    parts.push(speaker(m));
    if (m.content !== "") parts.push(m.content.replace(/\s+$/, ""));
    const note = endNote(m);
    if (note) parts.push(note);
  }
  return parts.join("\n\n") + "\n";
}
