import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/store/sqlite/sqlite-schema.js";
import { version1Event, writeVersion1Store } from "../store/sqlite/version-1-store.js";
import { cleanupAfterEach, runCli, runCliBytes, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A store file of schema version 1, as the previous release left it, under the built daemon of
 * this one: the CLI refuses it until the daemon has started once, the daemon upgrades it in
 * place, and its events and their pending and dead deliveries still deliver, show and replay.
 */

const SLOW = 180_000;

describe("e2e: upgrading a version-1 store file", () => {
  const { track } = cleanupAfterEach();

  it(
    "the CLI asks for one start of the daemon, which upgrades the file; old events deliver, show and replay",
    async () => {
      const dir = tempDir("switchyard-upgrade-");
      const db = join(dir, "switchyard.db");
      const pending = version1Event(
        "github",
        { ref: "refs/heads/main", after: "abc123" },
        { "content-type": "application/json", "x-github-event": "push" },
      );
      const dead = version1Event(
        "github",
        { text: "disk full", level: ["warn", "crit"] },
        { "content-type": "application/x-www-form-urlencoded" },
      );
      writeVersion1Store(db, [
        { event: pending, deliveries: [{ target: "notify", state: "pending" }] },
        { event: dead, deliveries: [{ target: "notify", state: "dead", lastError: "HTTP 500: upstream broke" }] },
      ]);
      const sink = track(await startSink());
      const file = writeConfig(
        dir,
        `
server: { listen: 127.0.0.1:0 }
store: { path: "${db}" }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: upgrade-secret }
    targets:
      - { name: notify, type: http, url: "${sink.url}/notify", retry: { attempts: 1 } }
`,
      );

      const before = await runCli(["events", "-c", file]);
      expect(before.code).toBe(1);
      expect(before.stderr).toContain(`has schema version 1, not ${SCHEMA_VERSION}: start the daemon of this version once to upgrade it`);

      const daemon = track(await startDaemon(file));
      expect(daemon.logs.find((l) => l.msg === "store file upgraded to the current schema version")).toMatchObject({
        path: db,
        from: 1,
        to: SCHEMA_VERSION,
      });
      // The pending delivery goes out with the body it was stored with.
      const first = await waitFor(() => sink.requests[0], "the pending delivery of the old event");
      expect(JSON.parse(first.body)).toEqual(pending.body);
      expect(first.headers["x-switchyard-event-id"]).toBe(pending.id);

      const shown = await runCli(["events", "show", dead.id, "--json", "-c", file]);
      expect(shown).toMatchObject({ code: 0, stderr: "" });
      const detail = JSON.parse(shown.stdout) as { event: Record<string, unknown>; deliveries: { state: string; lastError?: string }[] };
      expect(detail.event).toEqual({ ...dead });
      expect(detail.deliveries).toMatchObject([{ state: "dead", lastError: "HTTP 500: upstream broke" }]);
      // The original bytes are gone; the stored ones are the form the body was parsed from.
      const raw = await runCliBytes(["events", "show", dead.id, "--raw", "-c", file]);
      expect(raw.stdout.toString("utf8")).toBe("text=disk+full&level=warn&level=crit");

      const replay = await runCli(["dlq", "replay", dead.id, "-c", file]);
      expect(replay.code).toBe(0);
      const second = await waitFor(() => sink.requests[1], "the replayed delivery of the old event");
      expect(JSON.parse(second.body)).toEqual(dead.body);

      expect(await daemon.stop()).toBe(0);
      const check = new Database(db, { readonly: true });
      expect(check.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      check.close();
    },
    SLOW,
  );
});
