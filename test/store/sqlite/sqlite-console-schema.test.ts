import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../../src/store/sqlite/sqlite-schema.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";

/**
 * A store file written by the version-1 daemon (test/fixtures/store-v1.db: two events, one
 * delivered, one dead, one pending delivery) is brought to the current version on the daemon's first start,
 * in place, keeping everything; the console's attempt log and counters work on it at once.
 */

const FIXTURE = resolve(import.meta.dirname, "../../fixtures/store-v1.db");
const dirs: string[] = [];

function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-v1-"));
  dirs.push(dir);
  const file = join(dir, "switchyard.db");
  copyFileSync(FIXTURE, file);
  return file;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("a version-1 store file", () => {
  it("is refused by the CLI with a message that says to start the daemon once", () => {
    const file = copyOfFixture();
    expect(() => SqliteStore.open(file, { readonly: true })).toThrow(
      new RegExp(`schema version 1, not ${SCHEMA_VERSION}: start the daemon of this version once`),
    );
  });

  it("is upgraded to the current version by the daemon's open, keeping its events, states and dead letters", async () => {
    const file = copyOfFixture();
    const store = SqliteStore.open(file);
    try {
      const events = await store.events();
      expect(events.map((e) => [e.route, e.deliveries.map((d) => [d.target, d.state])])).toEqual([
        ["meraki", [["ntfy", "pending"]]],
        [
          "github",
          [
            ["notify", "delivered"],
            ["deploy", "dead"],
          ],
        ],
      ]);
      expect(await store.deadLetters()).toMatchObject([{ route: "github", target: "deploy", lastError: "exit 1", attempts: 1 }]);
      const old = await store.event("0190b5a0-0000-7000-8000-000000000001");
      expect(old?.event.body).toEqual({ ref: "refs/heads/main" });
      expect(old?.deliveries.map((d) => d.attemptLog)).toEqual([[], []]);

      // The new tables work at once: a try of the pending delivery is logged with its settlement.
      const [d] = await store.claim({
        route: "meraki",
        target: "ntfy",
        limit: 1,
        leaseMs: 60_000,
        now: Date.now(),
        owner: "w",
        coalesce: false,
      });
      const record = {
        attempt: 1,
        startedAt: "2026-12-01T00:00:00.000Z",
        durationMs: 5,
        outcome: "delivered" as const,
        status: 200,
        exitCode: null,
        response: "ok",
        error: null,
      };
      await store.settle(d!.id, "w", { kind: "delivered", detail: "HTTP 200" }, Date.now(), record);
      expect((await store.event("0190b5a0-0000-7000-8000-000000000002"))?.deliveries[0]?.attemptLog).toEqual([record]);
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      await store.addCounts([{ minute, route: "meraki", target: "", name: "accepted", n: 1 }]);
      expect(await store.counts({ since: minute, bucketMinutes: 1 })).toEqual([
        { minute, route: "meraki", target: "", name: "accepted", n: 1 },
      ]);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
    // And the CLI reads it now.
    const cli = SqliteStore.open(file, { readonly: true });
    expect((await cli.events()).length).toBe(2);
    await cli.close();
  });
});
