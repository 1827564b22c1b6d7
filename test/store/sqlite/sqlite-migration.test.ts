import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseBody } from "../../../src/pipeline/body.js";
import { legacyBodyBytes } from "../../../src/store/legacy-event.js";
import { SCHEMA_VERSION } from "../../../src/store/sqlite/sqlite-schema.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { version1Event, writeVersion1Store } from "./version-1-store.js";

/**
 * A version-1 store file (written by the statements of that version) upgraded in place by the
 * daemon's first open: every event keeps its request and its body, pending deliveries are still
 * claimed, dead ones still listed and replayed.
 */

const json = version1Event(
  "github",
  { ref: "refs/heads/main", n: 1, text: "é ✓" },
  { "content-type": "application/json", "x-github-event": "push" },
  { src: "ci" },
);
const form = version1Event("github", { a: "1", b: ["x y", "z&"] }, { "content-type": "application/x-www-form-urlencoded" });
const text = version1Event("github", "plain text, not { json", { "content-type": "text/plain" });
const jsonString = version1Event("github", "a JSON string", { "content-type": "application/json" });
const untyped = version1Event("github", { untyped: true }, {});
const empty = version1Event("github", "", {});

describe("SQLite schema upgrade from version 1", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-migrate-"));
    file = join(dir, "switchyard.db");
    writeVersion1Store(file, [
      { event: json, deliveries: [{ target: "notify", state: "pending" }] },
      { event: form, deliveries: [{ target: "notify", state: "dead", lastError: "HTTP 500: upstream broke" }] },
      { event: text, deliveries: [{ target: "notify", state: "delivered" }] },
      { event: jsonString, deliveries: [] },
      { event: untyped, deliveries: [] },
      { event: empty, deliveries: [] },
    ]);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the CLI refuses the old file, saying to start the daemon once, and leaves it as it was", () => {
    for (const opts of [{ readonly: true }, { existing: true }]) {
      expect(() => SqliteStore.open(file, opts)).toThrow(
        `has schema version 1, not ${SCHEMA_VERSION}: start the daemon of this version once to upgrade it`,
      );
    }
    const db = new Database(file, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(1);
    db.close();
  });

  it("keeps every event's request and body, derives bytes that parse back to it, and still claims and replays", async () => {
    const store = SqliteStore.open(file);
    try {
      for (const old of [json, form, text, jsonString, untyped, empty]) {
        const shown = await store.event(old.id);
        const { body, ...request } = old;
        expect(shown?.event).toMatchObject(request);
        expect(shown?.event.body).toEqual(body);
        // What the bytes are: JSON text, the form re-encoded, the text itself.
        expect(shown?.event.rawBody.equals(legacyBodyBytes(body, old.headers["content-type"]))).toBe(true);
      }
      expect((await store.event(json.id))?.event.rawBody.toString("utf8")).toBe(JSON.stringify(json.body));
      expect((await store.event(form.id))?.event.rawBody.toString("utf8")).toBe("a=1&b=x+y&b=z%26");
      expect((await store.event(text.id))?.event.rawBody.toString("utf8")).toBe(text.body);

      const [pending] = await store.claim({
        route: "github",
        target: "notify",
        now: Date.now(),
        limit: 10,
        leaseMs: 60_000,
        owner: "new-daemon",
        coalesce: false,
      });
      expect(pending?.eventId).toBe(json.id);
      expect(pending?.event.body).toEqual(json.body);
      expect(pending?.event.query).toEqual({ src: "ci" });

      const [dead] = await store.deadLetters();
      expect(dead).toMatchObject({ eventId: form.id, lastError: "HTTP 500: upstream broke", receivedAt: form.receivedAt });
      expect(await store.replay([form.id], Date.now())).toEqual({ replayed: 1, notFound: [] });
      const [replayed] = await store.claim({
        route: "github",
        target: "notify",
        now: Date.now() + 1,
        limit: 10,
        leaseMs: 60_000,
        owner: "new-daemon",
        coalesce: false,
      });
      expect(replayed?.event.body).toEqual(form.body);
      expect((await store.events({ limit: 10 })).map((e) => e.id).sort()).toEqual(
        [json, form, text, jsonString, untyped, empty].map((e) => e.id).sort(),
      );
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('events')").all();
    expect(columns.map((c) => c.name)).not.toContain("doc");
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(["method", "path", "query", "headers", "body"]));
    db.close();
  });

  it("opens the upgraded file again without a second upgrade, and the CLI reads it", async () => {
    await SqliteStore.open(file).close();
    await SqliteStore.open(file).close();
    const reader = SqliteStore.open(file, { readonly: true });
    try {
      expect((await reader.event(json.id))?.event.body).toEqual(json.body);
    } finally {
      await reader.close();
    }
  });

  it("legacy bytes parse back to the stored body, as the ingress parses", () => {
    for (const old of [json, form, text, jsonString, untyped]) {
      const contentType = old.headers["content-type"];
      expect(parseBody(legacyBodyBytes(old.body, contentType), contentType)).toMatchObject({ ok: true, value: old.body });
    }
  });
});
