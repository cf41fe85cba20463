/**
 * The settings and presets HTTP API over real HTTP against a running app (SQLite): what the
 * dialog reads and writes, and every refusal a person or a script can meet.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withApp } from "./helpers/fixture.ts";
import type { TestApp } from "./helpers/app.ts";
import { LOCAL_OWNER } from "../lib/owner.ts";

const owner = LOCAL_OWNER;

function call(app: TestApp, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.url + path, init);
}

function sendJson(method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

async function expectError(
  response: Response,
  status: number,
  code: string,
  field?: string,
): Promise<string> {
  const body = await response.json();
  assertEquals([response.status, body.error?.code], [status, code]);
  if (field !== undefined) assertEquals(body.error.field, field);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
  return body.error.message;
}

const ENV = {
  SYSTEM_PROMPT: "You are terse.",
  MODEL_TEMPERATURE: "0.8",
  MODEL_NUM_CTX: "4096",
  SETTINGS_MAX_NUM_CTX: "32768",
  SETTINGS_MAX_SYSTEM_PROMPT: "200",
  SETTINGS_MAX_PRESETS: "3",
};

Deno.test("settings http - a conversation's settings: defaults, merge patch, reset", async () => {
  await withApp(ENV, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Tea" });
    const path = `/api/conversations/${chat.id}/settings`;
    const first = await (await call(app, path)).json();
    assertEquals(first.settings, {});
    assertEquals(first.defaults.systemPrompt, "You are terse.");
    assertEquals(first.defaults.temperature, 0.8);
    assertEquals(first.defaults.numCtx, 4096);
    assertEquals(typeof first.defaults.model, "string");
    assertEquals(first.defaults.topP, undefined, "not configured: the model's own default");
    assertEquals(first.limits, { maxNumCtx: 32768, maxSystemPrompt: 200 });
    assertEquals(first.effective.temperature, 0.8);

    const put = await call(
      app,
      path,
      sendJson("PUT", { temperature: 0.2, systemPrompt: "Speak like a pirate.", topK: 20 }),
    );
    assertEquals(put.status, 200);
    const saved = await put.json();
    assertEquals(saved.settings, {
      systemPrompt: "Speak like a pirate.",
      temperature: 0.2,
      topK: 20,
    });
    assertEquals(saved.effective.temperature, 0.2);
    assertEquals(saved.effective.numCtx, 4096);

    // Keys left out keep their value; null puts one back to its default.
    const patched =
      await (await call(app, path, sendJson("PUT", { temperature: null, numCtx: 8192 })))
        .json();
    assertEquals(patched.settings, {
      systemPrompt: "Speak like a pirate.",
      topK: 20,
      numCtx: 8192,
    });
    assertEquals(patched.effective.temperature, 0.8);
    assertEquals((await (await call(app, path)).json()).settings, patched.settings);
    assertEquals(await app.store.getSettings(owner, chat.id), patched.settings);

    const reset = await call(
      app,
      path,
      sendJson("PUT", { systemPrompt: null, topK: null, numCtx: null, model: "qwen3" }),
    );
    assertEquals((await reset.json()).settings, { model: "qwen3" });
  });
});

Deno.test("settings http - bad settings are refused with the field named, nothing stored", async () => {
  await withApp(ENV, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Tea" });
    const path = `/api/conversations/${chat.id}/settings`;
    await call(app, path, sendJson("PUT", { temperature: 1 }));
    const cases: [unknown, string][] = [
      [{ temperature: 2.5 }, "temperature"],
      [{ temperature: "hot" }, "temperature"],
      [{ topP: 1.2 }, "topP"],
      [{ topK: 0 }, "topK"],
      [{ topK: 2.5 }, "topK"],
      [{ numCtx: 65536 }, "numCtx"],
      [{ systemPrompt: "x".repeat(201) }, "systemPrompt"],
      [{ systemPrompt: 5 }, "systemPrompt"],
      [{ model: "" }, "model"],
      [{ temprature: 1 }, "temprature"],
    ];
    for (const [body, field] of cases) {
      const message = await expectError(
        await call(app, path, sendJson("PUT", body)),
        400,
        "invalid_setting",
        field,
      );
      assertMatch(message, new RegExp(field));
    }
    assertMatch(
      await expectError(
        await call(app, path, sendJson("PUT", { numCtx: 65536 })),
        400,
        "invalid_setting",
      ),
      /32768/,
    );
    assertEquals(await app.store.getSettings(owner, chat.id), { temperature: 1 });
    await expectError(await call(app, path, sendJson("PUT", "{nope")), 400, "invalid_json");
    await expectError(await call(app, path, sendJson("PUT", "[1]")), 400, "invalid_body");
    await expectError(
      await call(app, path, sendJson("PUT", { systemPrompt: "x".repeat(70_000) })),
      413,
      "body_too_large",
    );
    await expectError(await call(app, "/api/conversations/nope/settings"), 404, "not_found");
    await expectError(
      await call(app, "/api/conversations/nope/settings", sendJson("PUT", { topK: 3 })),
      404,
      "not_found",
    );
    await app.store.deleteConversation(owner, chat.id);
    await expectError(await call(app, path), 404, "not_found");
  });
});

Deno.test("settings http - a new chat is created with its settings", async () => {
  await withApp(ENV, async ({ app }) => {
    const response = await call(
      app,
      "/api/conversations",
      sendJson("POST", { settings: { systemPrompt: "Rhyme.", temperature: 1.5 } }),
    );
    assertEquals(response.status, 201);
    const body = await response.json();
    assertEquals(body.conversation.title, "New chat");
    assertEquals(body.settings, { systemPrompt: "Rhyme.", temperature: 1.5 });
    assertEquals(await app.store.getSettings(owner, body.conversation.id), body.settings);
    await expectError(
      await call(app, "/api/conversations", sendJson("POST", { settings: { topP: 7 } })),
      400,
      "invalid_setting",
      "topP",
    );
    await expectError(
      await call(app, "/api/conversations", sendJson("POST", { settings: "warm" })),
      400,
      "invalid_setting",
      "settings",
    );
    assertEquals((await app.store.listConversations(owner)).items.length, 1, "no stray chat");
  });
});

Deno.test("settings http - presets: create, list, rename, replace, delete, limits", async () => {
  await withApp(ENV, async ({ app }) => {
    const empty = await (await call(app, "/api/presets")).json();
    assertEquals([empty.items, empty.max, empty.limits.maxNumCtx], [[], 3, 32768]);
    assertEquals(empty.defaults.systemPrompt, "You are terse.");
    const created = await call(
      app,
      "/api/presets",
      sendJson("POST", { name: "  Precise  ", settings: { temperature: 0.1, topP: 0.5 } }),
    );
    assertEquals(created.status, 201);
    const precise = await created.json();
    assertEquals([precise.name, precise.settings], ["Precise", { temperature: 0.1, topP: 0.5 }]);

    await expectError(
      await call(app, "/api/presets", sendJson("POST", { name: "Precise", settings: {} })),
      409,
      "conflict",
    );
    await expectError(
      await call(app, "/api/presets", sendJson("POST", { name: "  ", settings: {} })),
      400,
      "invalid_setting",
      "name",
    );
    await expectError(
      await call(app, "/api/presets", sendJson("POST", { name: "x".repeat(61) })),
      400,
      "invalid_setting",
      "name",
    );
    await expectError(
      await call(
        app,
        "/api/presets",
        sendJson("POST", { name: "Hot", settings: { temperature: 9 } }),
      ),
      400,
      "invalid_setting",
      "temperature",
    );

    const id = precise.id;
    const renamed =
      await (await call(app, `/api/presets/${id}`, sendJson("PUT", { name: "Exact" })))
        .json();
    assertEquals([renamed.name, renamed.settings], ["Exact", { temperature: 0.1, topP: 0.5 }]);
    const replaced = await (await call(
      app,
      `/api/presets/${id}`,
      sendJson("PUT", { settings: { systemPrompt: "Cite sources." } }),
    )).json();
    assertEquals([replaced.name, replaced.settings], ["Exact", { systemPrompt: "Cite sources." }]);
    await expectError(
      await call(app, "/api/presets/missing", sendJson("PUT", { name: "X" })),
      404,
      "not_found",
    );

    await call(app, "/api/presets", sendJson("POST", { name: "B", settings: {} }));
    await call(app, "/api/presets", sendJson("POST", { name: "C", settings: {} }));
    await expectError(
      await call(app, `/api/presets/${id}`, sendJson("PUT", { name: "B" })),
      409,
      "conflict",
    );
    assertMatch(
      await expectError(
        await call(app, "/api/presets", sendJson("POST", { name: "D", settings: {} })),
        409,
        "too_many_presets",
      ),
      /3/,
    );
    const list = await (await call(app, "/api/presets")).json();
    assertEquals(list.items.map((p: { name: string }) => p.name), ["B", "C", "Exact"]);

    assertEquals((await call(app, `/api/presets/${id}`, { method: "DELETE" })).status, 200);
    await expectError(
      await call(app, `/api/presets/${id}`, { method: "DELETE" }),
      404,
      "not_found",
    );
    assertEquals((await (await call(app, "/api/presets")).json()).items.length, 2);
  });
});

Deno.test("settings http - export and import carry settings; an import over the limits is refused", async () => {
  await withApp(ENV, async ({ app }) => {
    const chat = await app.store.createConversation(owner, { title: "Tea" });
    await call(
      app,
      `/api/conversations/${chat.id}/settings`,
      sendJson("PUT", { systemPrompt: "Be brief.", numCtx: 8192 }),
    );
    const file = await (await call(app, `/api/conversations/${chat.id}/export?format=json`)).json();
    assertEquals(file.settings, { systemPrompt: "Be brief.", numCtx: 8192 });

    const tooBig = { ...file, settings: { numCtx: 65536 } };
    assertMatch(
      await expectError(
        await call(app, "/api/conversations/import", sendJson("POST", tooBig)),
        400,
        "invalid_import",
      ),
      /settings\.numCtx must be at most 32768/,
    );
    await app.store.deleteConversation(owner, chat.id);
    await app.store.purgeDeleted(Date.now() + 1, owner);
    assertEquals((await app.store.listConversations(owner)).items, [], "nothing imported");

    const imported = await call(app, "/api/conversations/import", sendJson("POST", file));
    assertEquals(imported.status, 200);
    const settings = await (await call(app, `/api/conversations/${chat.id}/settings`)).json();
    assertEquals(settings.settings, { systemPrompt: "Be brief.", numCtx: 8192 });
  });
});
