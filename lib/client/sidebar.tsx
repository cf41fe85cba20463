/**
 * The sidebar: search, the stored conversations (loading more as the list scrolls), rename,
 * delete with undo, import. A drawer under 768 px (styles.css). State lives in library.ts.
 */
import type { Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { SearchHit } from "./api.ts";
import { Icon } from "./header_icons.tsx";
import { conversationPath, type ConversationSummary } from "./conversations.ts";
import type { LibraryController, LibraryState } from "./library.ts";
import type { MessageDeleter } from "./message_delete.ts";
import { ShortcutsHelp, ThemeSwitch } from "./preferences.tsx";
import { snippetParts } from "./snippet.ts";
import type { ThemeChoice } from "./theme.ts";

export interface SidebarProps {
  readonly library: LibraryState;
  readonly controller: LibraryController;
  readonly currentId: string | undefined;
  /** Opens a conversation (and brings `messageId` into view). */
  readonly onOpen: (id: string, messageId?: string) => void;
  /** The current conversation was deleted. */
  readonly onDeletedCurrent: () => void;
  readonly id: string;
  /** The search box's id, for Ctrl+K. */
  readonly searchId: string;
  readonly theme: ThemeChoice;
}

export function Sidebar(props: SidebarProps) {
  const { library, controller } = props;
  const open = library.drawerOpen.value;
  return (
    <aside id={props.id} class="sidebar" data-open={open ? "true" : "false"}>
      <SearchBox
        library={library}
        controller={controller}
        onOpen={props.onOpen}
        id={props.searchId}
      />
      <ConversationList {...props} />
      <div class="sidebar-foot">
        <ImportButton library={library} controller={controller} onOpen={props.onOpen} />
        <ShortcutsHelp />
        <ThemeSwitch initial={props.theme} />
      </div>
    </aside>
  );
}

// ---------------------------------------------------------------------------------------------
// Search

function SearchBox(
  { library, controller, onOpen, id }: Pick<SidebarProps, "library" | "controller" | "onOpen"> & {
    id: string;
  },
) {
  const hits = library.hits.value;
  const error = library.searchError.value;
  return (
    <div class="search" role="search">
      <input
        type="search"
        id={id}
        class="search-input"
        aria-label="Search conversations"
        aria-keyshortcuts="Control+K"
        title="Search conversations (Ctrl+K)"
        placeholder="Search conversations"
        value={library.query.value}
        onInput={(event) => controller.setQuery(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape" && library.query.value) {
            event.preventDefault();
            controller.setQuery("");
          }
        }}
      />
      {error && <p class="side-error" role="alert">{error}</p>}
      {hits && !error && (
        hits.length === 0
          ? <p class="side-empty">{library.searching.value ? "Searching…" : "No matches."}</p>
          : <SearchResults hits={hits} onOpen={onOpen} />
      )}
    </div>
  );
}

function SearchResults(
  { hits, onOpen }: { hits: readonly SearchHit[]; onOpen: SidebarProps["onOpen"] },
) {
  return (
    <ul class="search-results" aria-label="Search results">
      {hits.map((hit) => (
        <li key={`${hit.conversationId}/${hit.messageId}`}>
          <button
            type="button"
            class="search-hit"
            onClick={() => onOpen(hit.conversationId, hit.messageId)}
          >
            <span class="search-title">{hit.title}</span>
            <Snippet html={hit.snippet} />
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * The server's snippet (escaped text with `<mark>` around matches) as text nodes and `<mark>`
 * elements: nothing is parsed as HTML, so nothing in it can run.
 */
function Snippet({ html }: { html: string }) {
  return (
    <span class="search-snippet">
      {snippetParts(html).map((part, i) =>
        part.marked ? <mark key={i}>{part.text}</mark> : part.text
      )}
    </span>
  );
}

// ---------------------------------------------------------------------------------------------
// The list

function ConversationList(props: SidebarProps) {
  const { library, controller, currentId } = props;
  const sentinel = useRef<HTMLLIElement>(null);
  const items = library.conversations.value;
  const more = library.nextCursor.value !== null;

  // Load the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) controller.loadMore();
    }, { rootMargin: "200px" });
    observer.observe(el);
    return () => observer.disconnect();
  }, [controller, more]);

  return (
    <nav class="conversations" aria-label="Conversations">
      <ul class="conversation-list">
        {items.map((c) => (
          <ConversationItem
            key={c.id}
            conversation={c}
            current={c.id === currentId}
            {...props}
          />
        ))}
        {more && (
          <li ref={sentinel} class="list-sentinel" aria-hidden="true">
            {library.listLoading.value ? "Loading…" : ""}
          </li>
        )}
      </ul>
      {library.nextCursor.value === null && items.length === 0 && (
        <p class="side-empty">No conversations yet.</p>
      )}
      {library.listError.value && (
        <p class="side-error">
          {library.listError.value}{" "}
          <button type="button" class="link-button" onClick={() => controller.loadMore()}>
            Try again
          </button>
        </p>
      )}
    </nav>
  );
}

function ConversationItem(
  props: SidebarProps & { conversation: ConversationSummary; current: boolean },
) {
  const { conversation: c, current, library, controller, onOpen } = props;
  const renaming = library.renaming.value === c.id;
  const renameRef = useRef<HTMLButtonElement>(null);
  return (
    <li class="conversation" data-current={current ? "true" : undefined}>
      {renaming
        ? (
          <RenameBox
            title={c.title}
            onDone={async (title) => {
              if (title !== undefined && title.trim() && title.trim() !== c.title) {
                if (!(await controller.rename(c.id, title))) return;
              }
              library.renaming.value = undefined;
              renameRef.current?.focus();
            }}
          />
        )
        : (
          <a
            class="conversation-link"
            href={conversationPath(c.id)}
            aria-current={current ? "page" : undefined}
            title={c.title}
            onClick={(event) => {
              if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
              event.preventDefault();
              onOpen(c.id);
            }}
          >
            {c.title}
          </a>
        )}
      {!renaming && (
        <span class="conversation-actions">
          <button
            type="button"
            class="icon-button"
            ref={renameRef}
            aria-label="Rename"
            title={`Rename “${c.title}”`}
            onClick={() => (library.renaming.value = c.id)}
          >
            <Icon name="rename" size={15} />
          </button>
          <button
            type="button"
            class="icon-button"
            aria-label="Delete"
            title={`Delete “${c.title}”`}
            onClick={async () => {
              if (await controller.remove(c.id)) {
                if (current) props.onDeletedCurrent();
              }
            }}
          >
            <Icon name="delete" size={15} />
          </button>
        </span>
      )}
    </li>
  );
}

function RenameBox(
  { title, onDone }: { title: string; onDone: (title?: string) => void },
) {
  const [value, setValue] = useState(title);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  return (
    <input
      ref={input as Ref<HTMLInputElement>}
      class="rename-input"
      aria-label="Title"
      value={value}
      maxLength={200}
      onInput={(event) => setValue(event.currentTarget.value)}
      onKeyDown={(event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          onDone(value);
        } else if (event.key === "Escape") {
          event.preventDefault();
          onDone();
        }
      }}
      onBlur={() => onDone()}
    />
  );
}

// ---------------------------------------------------------------------------------------------
// Import, and what the sidebar says back

function ImportButton(
  { library, controller, onOpen }: Pick<SidebarProps, "library" | "controller" | "onOpen">,
) {
  const [busy, setBusy] = useState(false);
  return (
    <div class="import">
      <label class="btn btn-ghost btn-small import-label" data-busy={busy ? "true" : undefined}>
        {busy ? "Importing…" : "Import"}
        <input
          type="file"
          class="visually-hidden"
          accept=".json,application/json"
          aria-label="Import conversation"
          disabled={busy}
          onChange={async (event) => {
            const input = event.currentTarget;
            const file = input.files?.[0];
            if (!file) return;
            setBusy(true);
            try {
              const text = await file.text();
              const imported = await controller.importText(text);
              if (imported) onOpen(imported.id);
            } catch {
              library.alert.value = "Importing the conversation failed: the file can't be read.";
            } finally {
              input.value = "";
              setBusy(false);
            }
          }}
        />
      </label>
    </div>
  );
}

/** The undo toast and action errors, fixed at the bottom of the page. */
export function Toasts(
  { library, controller, deleter }: {
    library: LibraryState;
    controller: LibraryController;
    deleter: MessageDeleter;
  },
) {
  const deleted = library.deleted.value;
  const alert = library.alert.value;
  const message = deleter.deleted.value;
  return (
    <div class="toasts">
      {message && (
        <div class="toast" role="alert">
          <span>
            {message.count === 1 ? "Message deleted" : `${message.count} messages deleted`}
          </span>
          <button type="button" class="btn btn-small" onClick={() => deleter.undo()}>
            Undo
          </button>
        </div>
      )}
      {deleted && (
        <div class="toast" role="alert">
          <span>Conversation deleted</span>
          <button type="button" class="btn btn-small" onClick={() => controller.undo()}>
            Undo
          </button>
        </div>
      )}
      {alert && (
        <div class="toast toast-error" role="alert">
          <span>{alert}</span>
          <button
            type="button"
            class="btn btn-small btn-ghost"
            aria-label="Dismiss"
            onClick={() => (library.alert.value = undefined)}
          >
            ×
          </button>
        </div>
      )}
    </div>
  );
}
