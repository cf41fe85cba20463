/**
 * The one test suite every Store implementation must pass. `store_test.ts` runs it against
 * SQLite and PostgreSQL; a behaviour asserted here is a behaviour of both.
 */
import { EXPORT_FORMAT } from "../lib/store/export.ts";
import {
  MARK_END,
  MARK_START,
  type Message,
  newId,
  type Store,
  StoreError,
  type StoreErrorCode,
} from "../lib/store/store.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";

export interface StoreFixture {
  readonly store: Store;
  /** Opens the same database again (migrations run again); closes the previous store. */
  reopen(): Promise<Store>;
  close(): Promise<void>;
}

type Open = () => Promise<StoreFixture>;

async function rejects(
  promise: Promise<unknown>,
  code: StoreErrorCode,
  pattern?: RegExp,
): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assertEquals(error.code, code, error.message);
    if (pattern) assertMatch(error.message, pattern);
    return error;
  }
  throw new Error(`expected a StoreError ${code}`);
}

/** Timestamps are milliseconds; ordering tests need the clock to have moved on. */
function nextMillisecond(): void {
  const now = Date.now();
  while (Date.now() === now) { /* spin for under a millisecond */ }
}

/** A fresh owner per test, so tests can share a database (e.g. a given DATABASE_URL). */
const owner = () => `owner-${newId()}`;

async function chat(store: Store, ownerId: string, title = "A chat") {
  const conversation = await store.createConversation(ownerId, { title });
  const question = await store.addMessage(ownerId, {
    conversationId: conversation.id,
    parentId: null,
    role: "user",
    content: "How do I brew green tea?",
  });
  const answer = await store.startAnswer(ownerId, {
    conversationId: conversation.id,
    parentId: question.id,
    model: "llama3.2",
  });
  return { conversation, question, answer };
}

export function storeContract(name: string, open: Open): void {
  const test = (label: string, fn: (f: StoreFixture) => Promise<void>) =>
    Deno.test({
      name: `store ${name} - ${label}`,
      async fn() {
        const fixture = await open();
        try {
          await fn(fixture);
        } finally {
          await fixture.close();
        }
      },
    });

  test("a conversation is created, read and renamed", async ({ store }) => {
    const me = owner();
    const created = await store.createConversation(me, { title: "Tea" });
    assertEquals(created.ownerId, me);
    assertEquals(created.deletedAt, null);
    assertEquals(await store.getConversation(me, created.id), created);
    const renamed = await store.renameConversation(me, created.id, "Green tea");
    assertEquals(renamed.title, "Green tea");
    assertEquals((await store.getConversation(me, created.id)).title, "Green tea");
    await rejects(store.createConversation(me, { id: created.id }), "conflict");
    await rejects(store.getConversation(me, "missing"), "not_found");
    await rejects(store.renameConversation(me, created.id, "x".repeat(501)), "invalid");
  });

  test("the list shows the latest activity first", async ({ store }) => {
    const me = owner();
    const a = await store.createConversation(me, { title: "a" });
    const b = await store.createConversation(me, { title: "b" });
    assertEquals((await store.listConversations(me)).items.map((c) => c.title), ["b", "a"]);
    nextMillisecond();
    await store.addMessage(me, {
      conversationId: a.id,
      parentId: null,
      role: "user",
      content: "hi",
    });
    const page = await store.listConversations(me);
    assertEquals(page.items.map((c) => c.title), ["a", "b"]);
    assert(page.items[0]!.updatedAt > a.updatedAt, "adding a message bumps updatedAt");
    assertEquals(page.nextCursor, null);
    assertEquals(b.title, "b");
  });

  test("the list pages with a cursor, without gaps or repeats", async ({ store }) => {
    const me = owner();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await store.createConversation(me)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: Awaited<ReturnType<Store["listConversations"]>> = await store
        .listConversations(me, { limit: 3, cursor });
      sizes.push(page.items.length);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assertEquals(sizes, [3, 3, 1]);
    assertEquals(seen, [...ids].reverse());
    await rejects(store.listConversations(me, { cursor: "nonsense" }), "invalid", /cursor/);
    await rejects(store.listConversations(me, { limit: 0 }), "invalid", /limit/);
    await rejects(store.listConversations(me, { limit: 10_000 }), "invalid", /limit/);
  });

  test("delete hides, restore brings back, purge removes for real", async ({ store }) => {
    const me = owner();
    const { conversation, question } = await chat(store, me);
    await store.deleteConversation(me, conversation.id);
    assertEquals((await store.listConversations(me)).items, []);
    await rejects(store.getConversation(me, conversation.id), "not_found");
    await rejects(store.listMessages(me, conversation.id), "not_found");
    await rejects(store.getMessage(me, question.id), "not_found");
    await rejects(
      store.addMessage(me, { conversationId: conversation.id, parentId: null, role: "user" }),
      "not_found",
    );
    await rejects(store.deleteConversation(me, conversation.id), "not_found");
    const deleted = await store.getConversation(me, conversation.id, { includeDeleted: true });
    assert(deleted.deletedAt !== null);

    const restored = await store.restoreConversation(me, conversation.id);
    assertEquals(restored.deletedAt, null);
    assertEquals((await store.listMessages(me, conversation.id)).length, 2);

    await store.deleteConversation(me, conversation.id);
    assertEquals(await store.purgeDeleted(Date.now() - 60_000, me), 0, "too recent to purge");
    assertEquals(await store.purgeDeleted(Date.now() + 1, me), 1);
    await rejects(store.restoreConversation(me, conversation.id), "not_found");
    await rejects(
      store.getConversation(me, conversation.id, { includeDeleted: true }),
      "not_found",
    );
  });

  test("messages form a tree; siblings are versions in order", async ({ store }) => {
    const me = owner();
    const { conversation, question, answer } = await chat(store, me);
    const second = await store.startAnswer(me, {
      conversationId: conversation.id,
      parentId: question.id,
      model: "qwen3",
    });
    const edited = await store.addMessage(me, {
      conversationId: conversation.id,
      parentId: null,
      role: "user",
      content: "How do I brew black tea?",
    });
    const versions = await store.children(me, conversation.id, question.id);
    assertEquals(versions.map((m) => m.id), [answer.id, second.id]);
    assertEquals(versions.map((m) => m.model), ["llama3.2", "qwen3"]);
    const roots = await store.children(me, conversation.id, null);
    assertEquals(roots.map((m) => m.id), [question.id, edited.id]);
    const all = await store.listMessages(me, conversation.id);
    assertEquals(all.map((m) => m.id), [question.id, answer.id, second.id, edited.id]);
    assertEquals(await store.getMessage(me, answer.id), all[1]);
    assertEquals(all[0]!.state, "complete");
    assertEquals(all[0]!.parentId, null);

    const other = await store.createConversation(me);
    await rejects(
      store.addMessage(me, { conversationId: other.id, parentId: question.id, role: "user" }),
      "invalid",
      /parentId/,
    );
    await rejects(
      store.addMessage(me, {
        id: question.id,
        conversationId: conversation.id,
        parentId: null,
        role: "user",
      }),
      "conflict",
    );
    await rejects(
      store.addMessage(me, { conversationId: "missing", parentId: null, role: "user" }),
      "not_found",
    );
    await rejects(
      store.addMessage(me, {
        conversationId: conversation.id,
        parentId: null,
        role: "robot" as "user",
      }),
      "invalid",
      /role/,
    );
  });

  test("deleting a message removes its subtree, keeps its versions, and restores", async ({ store }) => {
    const me = owner();
    const { conversation, question, answer } = await chat(store, me);
    await store.updateAnswer(me, answer.id, { content: "Steep at 80 °C.", state: "complete" });
    const id = conversation.id;
    nextMillisecond();
    const other = await store.startAnswer(me, {
      conversationId: id,
      parentId: question.id,
      model: "m",
    });
    await store.updateAnswer(me, other.id, { content: "Use cool water.", state: "complete" });
    const follow = await store.addMessage(me, {
      conversationId: id,
      parentId: answer.id,
      role: "user",
      content: "How long for oolong?",
    });
    const before = await store.listMessages(me, id);

    const removed = await store.deleteMessage(me, answer.id);
    assertEquals(removed.map((m) => m.id), [answer.id, follow.id], "parents first");
    assertEquals((await store.listMessages(me, id)).map((m) => m.id), [question.id, other.id]);
    await rejects(store.getMessage(me, follow.id), "not_found");
    assertEquals((await store.search(me, "oolong")).length, 0);

    assertEquals(await store.restoreMessages(me, removed), 2);
    assertEquals(await store.listMessages(me, id), before);
    assertEquals((await store.search(me, "oolong")).map((h) => h.messageId), [follow.id]);
    assertEquals(await store.restoreMessages(me, removed), 0, "restoring twice changes nothing");

    // A prompt takes its answers with it.
    const all = await store.deleteMessage(me, question.id);
    assertEquals(all.length, 4);
    assertEquals(await store.listMessages(me, id), []);
  });

  test("message delete refuses a streaming answer, another owner and bad restores", async ({ store }) => {
    const me = owner();
    const { conversation, question, answer } = await chat(store, me);
    await rejects(store.deleteMessage(me, question.id), "conflict", /stop it first/);
    await rejects(store.deleteMessage(owner(), question.id), "not_found");
    await rejects(store.deleteMessage(me, "no-such-message"), "not_found");
    assertEquals((await store.listMessages(me, conversation.id)).length, 2);

    await store.updateAnswer(me, answer.id, { state: "stopped" });
    const removed = await store.deleteMessage(me, answer.id);
    await rejects(store.restoreMessages(owner(), removed), "invalid");
    await rejects(store.restoreMessages(me, []), "invalid");
    // The prompt it answered went meanwhile: nothing to hang it on.
    const prompt = await store.deleteMessage(me, question.id);
    await rejects(store.restoreMessages(me, removed), "invalid", /no longer exists/);
    await store.restoreMessages(me, prompt);
    await store.deleteConversation(me, conversation.id);
    await rejects(store.restoreMessages(me, removed), "not_found");
    await rejects(store.deleteMessage(me, question.id), "not_found");
  });

  test("an answer streams by appends and ends in a state", async ({ store }) => {
    const me = owner();
    const { answer } = await chat(store, me);
    assertEquals(answer.state, "streaming");
    assertEquals(answer.role, "assistant");
    assertEquals(await store.appendAnswer(me, answer.id, { thinking: "Hmm. ", seq: 1 }), true);
    assertEquals(await store.appendAnswer(me, answer.id, { content: "Use 80 °C ", seq: 2 }), true);
    assertEquals(
      await store.appendAnswer(me, answer.id, { content: "Use 80 °C ", seq: 2 }),
      false,
      "a repeated flush is ignored",
    );
    assertEquals(await store.appendAnswer(me, answer.id, { content: "water.", seq: 4 }), true);
    let stored = await store.getMessage(me, answer.id);
    assertEquals([stored.content, stored.thinking, stored.lastSeq], [
      "Use 80 °C water.",
      "Hmm. ",
      4,
    ]);
    const stats = { ttftMs: 120, totalMs: 900, tokens: 5 };
    await store.updateAnswer(me, answer.id, { state: "complete", stats });
    stored = await store.getMessage(me, answer.id);
    assertEquals([stored.state, stored.stats, stored.content], [
      "complete",
      stats,
      "Use 80 °C water.",
    ]);
    assertEquals(await store.appendAnswer(me, answer.id, { content: "late", seq: 5 }), false);
    assertEquals((await store.getMessage(me, answer.id)).content, "Use 80 °C water.");

    const { answer: failed } = await chat(store, me);
    await store.updateAnswer(me, failed.id, {
      content: "Partial",
      lastSeq: 3,
      state: "error",
      errorCode: "stream_broken",
      errorMessage: "The model server closed the stream.",
    });
    stored = await store.getMessage(me, failed.id);
    assertEquals(
      [stored.state, stored.errorCode, stored.errorMessage, stored.lastSeq, stored.content],
      ["error", "stream_broken", "The model server closed the stream.", 3, "Partial"],
    );
    await rejects(store.updateAnswer(me, "missing", { state: "stopped" }), "not_found");
    await rejects(store.appendAnswer(me, "missing", { content: "x", seq: 1 }), "not_found");
    const { question } = await chat(store, me);
    await rejects(store.updateAnswer(me, question.id, { content: "x" }), "not_found");
  });

  test("markInterrupted ends every streaming answer", async ({ store }) => {
    const me = owner();
    const { answer } = await chat(store, me);
    const { answer: done } = await chat(store, me);
    await store.appendAnswer(me, answer.id, { content: "half an ans", seq: 1 });
    await store.updateAnswer(me, done.id, { state: "stopped" });
    assert(await store.markInterrupted() >= 1);
    const stored = await store.getMessage(me, answer.id);
    assertEquals([stored.state, stored.content], ["interrupted", "half an ans"]);
    assertEquals((await store.getMessage(me, done.id)).state, "stopped");
    assertEquals(await store.markInterrupted(), 0);
  });

  test("another owner sees not_found everywhere", async ({ store }) => {
    const me = owner();
    const them = owner();
    const { conversation, question, answer } = await chat(store, me, "secret plans");
    await store.updateAnswer(me, answer.id, { content: "secret", state: "complete" });
    const id = conversation.id;
    await rejects(store.getConversation(them, id), "not_found");
    await rejects(store.getConversation(them, id, { includeDeleted: true }), "not_found");
    await rejects(store.renameConversation(them, id, "mine"), "not_found");
    await rejects(store.deleteConversation(them, id), "not_found");
    await rejects(store.restoreConversation(them, id), "not_found");
    await rejects(store.listMessages(them, id), "not_found");
    await rejects(store.children(them, id, null), "not_found");
    await rejects(store.getMessage(them, question.id), "not_found");
    await rejects(
      store.addMessage(them, { conversationId: id, parentId: question.id, role: "user" }),
      "not_found",
    );
    await rejects(store.appendAnswer(them, answer.id, { content: "x", seq: 9 }), "not_found");
    await rejects(store.updateAnswer(them, answer.id, { state: "error" }), "not_found");
    await rejects(store.exportConversation(them, id), "not_found");
    assertEquals((await store.listConversations(them)).items, []);
    assertEquals(await store.search(them, "secret"), []);
    assertEquals(await store.purgeDeleted(Date.now() + 1, them), 0);
    assertEquals((await store.getConversation(me, id)).title, "secret plans");
  });

  test("search finds words, highlights them, newest first", async ({ store }) => {
    const me = owner();
    const { conversation, answer } = await chat(store, me, "Tea notes");
    await store.appendAnswer(me, answer.id, { content: "Oolong is partly oxidised.", seq: 1 });
    assertEquals(await store.search(me, "oolong"), [], "a streaming answer is not indexed yet");
    await store.updateAnswer(me, answer.id, { state: "complete" });
    const later = await store.addMessage(me, {
      conversationId: conversation.id,
      parentId: answer.id,
      role: "user",
      content: "And is oolong good cold?",
    });
    const hits = await store.search(me, "Oolong");
    assertEquals(hits.map((h) => h.messageId), [later.id, answer.id]);
    assertEquals(hits[1]!.conversationId, conversation.id);
    assertEquals(hits[1]!.title, "Tea notes");
    assertEquals(hits[1]!.role, "assistant");
    assertMatch(hits[1]!.snippet, new RegExp(`${MARK_START}Oolong${MARK_END} is partly`));
    assertEquals((await store.search(me, "oolong", { limit: 1 })).length, 1);
    assertEquals((await store.search(me, "oxid")).map((h) => h.messageId), [answer.id]);
    assertEquals((await store.search(me, "oolong cold")).map((h) => h.messageId), [later.id]);
    assertEquals(await store.search(me, '  "*:& '), []);
    assertEquals(await store.search(me, "rooibos"), []);

    await store.updateAnswer(me, answer.id, { content: "Rooibos has no caffeine." });
    assertEquals((await store.search(me, "rooibos")).map((h) => h.messageId), [answer.id]);
    assertEquals((await store.search(me, "oxidised")).length, 0, "the old text left the index");

    await store.deleteConversation(me, conversation.id);
    assertEquals(await store.search(me, "oolong"), [], "deleted conversations are not searched");
    await store.restoreConversation(me, conversation.id);
    assertEquals((await store.search(me, "oolong")).length, 1);
    await store.deleteConversation(me, conversation.id);
    await store.purgeDeleted(Date.now() + 1, me);
    assertEquals(await store.search(me, "rooibos"), []);
  });

  test("export then import round-trips and importing again changes nothing", async ({ store }) => {
    const me = owner();
    const { conversation, question, answer } = await chat(store, me, "Keep me");
    await store.updateAnswer(me, answer.id, {
      content: "Steep for 2 minutes.",
      state: "complete",
      stats: { tokens: 5 },
    });
    await store.startAnswer(me, {
      conversationId: conversation.id,
      parentId: question.id,
      model: "qwen3",
    });
    const file = JSON.parse(JSON.stringify(await store.exportConversation(me, conversation.id)));
    assertEquals(file.format, EXPORT_FORMAT);
    assertEquals(file.version, 1);
    assertEquals(file.conversation.id, conversation.id);
    assertEquals(file.messages.length, 3);
    assertEquals(file.messages[1].parentId, question.id);

    const again = await store.importConversation(me, file);
    assertEquals([again.inserted, again.skipped, again.remapped], [0, 3, false]);

    const before = await store.listMessages(me, conversation.id);
    await store.deleteConversation(me, conversation.id);
    await store.purgeDeleted(Date.now() + 1, me);
    const imported = await store.importConversation(me, file);
    assertEquals([imported.inserted, imported.skipped], [3, 0]);
    assertEquals(imported.conversation.title, "Keep me");
    const after = await store.listMessages(me, conversation.id);
    const strip = (ms: Message[]) => ms.map((m) => ({ ...m, lastSeq: 0, state: m.state }));
    assertEquals(
      strip(after),
      strip(before.map((m) => m.state === "streaming" ? { ...m, state: "interrupted" } : m)),
    );

    // A file of someone else's conversation: fresh ids, still idempotent.
    const them = owner();
    const theirs = await store.importConversation(them, file);
    assert(theirs.remapped);
    assert(theirs.conversation.id !== conversation.id);
    assertEquals(theirs.inserted, 3);
    const copy = await store.listMessages(them, theirs.conversation.id);
    const copied = new Set(copy.map((m) => m.id));
    assertEquals(copy.filter((m) => m.parentId === null).length, 1);
    assert(copy.every((m) => m.parentId === null || copied.has(m.parentId)), "parents remapped");
    assertEquals((await store.importConversation(them, file)).inserted, 0);
    assertEquals((await store.listConversations(them)).items.length, 1);
    assertEquals((await store.listMessages(me, conversation.id)).length, 3, "mine untouched");
  });

  test("a malformed import is refused with a clear message and writes nothing", async ({ store }) => {
    const me = owner();
    const good = {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: new Date().toISOString(),
      conversation: {
        id: newId(),
        title: "t",
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      },
      messages: [
        {
          id: "m1",
          parentId: null,
          role: "user",
          content: "hi",
          thinking: "",
          model: null,
          state: "complete",
          error: null,
          stats: null,
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        },
      ],
    };
    const message = good.messages[0]!;
    const cases: [unknown, RegExp][] = [
      [null, /the file must be a JSON object, found null/],
      [[], /found an array/],
      [{ ...good, format: "other" }, /format must be/],
      [{ ...good, version: 2 }, /version must be 1/],
      [{ ...good, conversation: { ...good.conversation, id: "" } }, /conversation\.id/],
      [{ ...good, messages: "x" }, /messages must be an array/],
      [
        { ...good, messages: [message, { ...message, id: "m2", role: "bot" }] },
        /messages\[1\]\.role/,
      ],
      [{ ...good, messages: [message, { ...message, id: "m2", parentId: "m9" }] }, /parentId/],
      [{ ...good, messages: [message, message] }, /messages\[1\]\.id must be unique/],
      [{ ...good, messages: [{ ...message, createdAt: "yesterday" }] }, /createdAt/],
      [{ ...good, messages: [{ ...message, content: 5 }] }, /messages\[0\]\.content/],
    ];
    for (const [raw, pattern] of cases) {
      await rejects(store.importConversation(me, raw), "invalid", pattern);
    }
    assertEquals((await store.listConversations(me)).items, []);
    assertEquals((await store.importConversation(me, good)).inserted, 1);
  });

  test("settings belong to a conversation: set, replaced, restored, purged", async ({ store }) => {
    const me = owner();
    const { conversation } = await chat(store, me);
    assertEquals(await store.getSettings(me, conversation.id), {});
    const chosen = {
      model: "qwen3",
      systemPrompt: "Answer like a pirate.",
      temperature: 0.3,
      topP: 0.9,
      topK: 40,
      numCtx: 8192,
    };
    assertEquals(await store.setSettings(me, conversation.id, chosen), chosen);
    assertEquals(await store.getSettings(me, conversation.id), chosen);
    // Replacing: absent fields go back to the defaults.
    await store.setSettings(me, conversation.id, { temperature: 1 });
    assertEquals(await store.getSettings(me, conversation.id), { temperature: 1 });
    await rejects(store.setSettings(me, conversation.id, { temperature: 2.5 }), "invalid", /temp/);
    await rejects(store.setSettings(me, conversation.id, { topK: 1.5 }), "invalid", /topK/);
    await rejects(store.setSettings(me, conversation.id, { topP: -0.1 }), "invalid", /topP/);
    await rejects(store.getSettings(owner(), conversation.id), "not_found");
    await rejects(store.setSettings(owner(), conversation.id, {}), "not_found");
    assertEquals(await store.getSettings(me, conversation.id), { temperature: 1 });

    await store.deleteConversation(me, conversation.id);
    await rejects(store.getSettings(me, conversation.id), "not_found");
    await store.restoreConversation(me, conversation.id);
    assertEquals(await store.getSettings(me, conversation.id), { temperature: 1 }, "restored");

    await store.deleteConversation(me, conversation.id);
    await store.purgeDeleted(Date.now() + 1, me);
    await store.createConversation(me, { id: conversation.id });
    assertEquals(await store.getSettings(me, conversation.id), {}, "purged with it");
  });

  test("export and import carry a conversation's settings", async ({ store }) => {
    const me = owner();
    const { conversation } = await chat(store, me);
    await store.setSettings(me, conversation.id, { systemPrompt: "Be brief.", topK: 20 });
    const file = JSON.parse(JSON.stringify(await store.exportConversation(me, conversation.id)));
    assertEquals(file.settings, { systemPrompt: "Be brief.", topK: 20 });
    const them = owner();
    const theirs = await store.importConversation(them, file);
    assertEquals(await store.getSettings(them, theirs.conversation.id), {
      systemPrompt: "Be brief.",
      topK: 20,
    });
    // Settings chosen after an import are not overwritten by importing the file again.
    await store.setSettings(them, theirs.conversation.id, { temperature: 0.1 });
    await store.importConversation(them, file);
    assertEquals(await store.getSettings(them, theirs.conversation.id), { temperature: 0.1 });
    // A file without settings (older exports) imports with the defaults.
    const { settings: _settings, ...plain } = file;
    const other = owner();
    const imported = await store.importConversation(other, plain);
    assertEquals(await store.getSettings(other, imported.conversation.id), {});
    await rejects(
      store.importConversation(owner(), { ...file, settings: { temperature: 9 } }),
      "invalid",
      /settings\.temperature/,
    );
  });

  test("presets: unique names per owner, update, delete", async ({ store }) => {
    const me = owner();
    assertEquals(await store.listPresets(me), []);
    const precise = await store.createPreset(me, {
      name: "  Precise ",
      settings: { temperature: 0.1, topP: 0.5 },
    });
    assertEquals(precise.name, "Precise");
    assertEquals(precise.settings, { temperature: 0.1, topP: 0.5 });
    const creative = await store.createPreset(me, {
      name: "Creative",
      settings: { temperature: 1.4, systemPrompt: "Be playful." },
    });
    assertEquals((await store.listPresets(me)).map((p) => p.name), ["Creative", "Precise"]);
    await rejects(store.createPreset(me, { name: "Precise", settings: {} }), "conflict", /Precise/);
    await rejects(store.createPreset(me, { name: "   ", settings: {} }), "invalid", /name/);
    await rejects(store.createPreset(me, { name: "x".repeat(61), settings: {} }), "invalid");
    await rejects(
      store.createPreset(me, { name: "Hot", settings: { temperature: 3 } }),
      "invalid",
      /temperature/,
    );
    // Another owner may use the same name and sees none of mine.
    const them = owner();
    await store.createPreset(them, { name: "Precise", settings: {} });
    assertEquals((await store.listPresets(them)).length, 1);
    await rejects(store.updatePreset(them, precise.id, { name: "Mine" }), "not_found");
    await rejects(store.deletePreset(them, precise.id), "not_found");

    const renamed = await store.updatePreset(me, precise.id, { name: "Exact" });
    assertEquals([renamed.name, renamed.settings], ["Exact", { temperature: 0.1, topP: 0.5 }]);
    const changed = await store.updatePreset(me, precise.id, { settings: { numCtx: 2048 } });
    assertEquals([changed.name, changed.settings], ["Exact", { numCtx: 2048 }]);
    await rejects(store.updatePreset(me, precise.id, { name: "Creative" }), "conflict");
    await store.deletePreset(me, creative.id);
    await rejects(store.deletePreset(me, creative.id), "not_found");
    assertEquals(await store.listPresets(me), [changed]);
  });

  test("migrations apply once: opening again keeps schema and data", async (fixture) => {
    const me = owner();
    const versions = await fixture.store.schemaVersions();
    assert(versions.length >= 1 && versions[0] === 1);
    const { conversation } = await chat(fixture.store, me);
    const store = await fixture.reopen();
    assertEquals(await store.schemaVersions(), versions);
    assertEquals((await store.listMessages(me, conversation.id)).length, 2);
    const again = await fixture.reopen();
    assertEquals(await again.schemaVersions(), versions);
  });
}
