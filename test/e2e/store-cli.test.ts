import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TALLY_FLUSH_MS } from "../../src/console/tally.js";
import { githubSignature } from "../server/signers.js";
import { hasRedis, startRedis } from "../store/redis-harness.js";
import { post, type RunningDaemon, runCli, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The verbs that read the store (`events`, `events show`, `dlq list`) and the one that writes to
 * it (`dlq replay`), run as a user runs them beside a daemon: they need only the config's store
 * section, take the ids people see, and never create, migrate or wipe the store.
 */

const SECRET = "store-cli-secret";

/** The env the daemon runs with; the CLI runs without the route's secrets. */
const daemonEnv = (dataDir: string) => ({
  GITHUB_WEBHOOK_SECRET: SECRET,
  NTFY_TOKEN: "ntfy-token-value",
  ADMIN_TOKEN: "admin-token-0123456789",
  STORE_DIR: dataDir,
});

/** `store` is the store section's contents: the SQLite file in STORE_DIR unless told otherwise. */
function config(dir: string, sinkUrl: string, store = 'path: "${STORE_DIR}/switchyard.db"'): string {
  return writeConfig(
    dir,
    `
server: { listen: 127.0.0.1:0, admin_token: "\${ADMIN_TOKEN}", shutdown_timeout: 2s }
store: { ${store} }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "\${GITHUB_WEBHOOK_SECRET}" }
    targets:
      - name: notify
        type: http
        url: ${sinkUrl}/notify
        headers: { Authorization: "Bearer \${NTFY_TOKEN}" }
        retry: { attempts: 1 }
`,
  );
}

async function push(daemon: RunningDaemon, body: object, query = ""): Promise<string> {
  const raw = Buffer.from(JSON.stringify(body));
  const r = await post(`${daemon.url}/hooks/github${query}`, raw, {
    "x-github-event": "push",
    "x-github-delivery": randomUUID(),
    "x-hub-signature-256": githubSignature(SECRET, raw),
  });
  expect(r.status).toBe(202);
  return (r.json() as { id: string }).id;
}

interface Shown {
  event: { id: string; method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: unknown };
  deliveries: { id: string; target: string; state: string; attempts: number; lastError?: string; dueAt?: number }[];
}

/** Sizes (and the database's mtime) of the store's files; "none" for a file that is not there. */
function footprint(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ["", "-wal"]) {
    try {
      const s = statSync(file + suffix);
      out[suffix || "db"] = suffix ? String(s.size) : `${s.size}@${s.mtimeMs}`;
    } catch {
      out[suffix || "db"] = "none";
    }
  }
  return out;
}

const READERS = [["events"], ["dlq", "list", "--json"]];

/** A spawned CLI takes seconds on a loaded 2-core machine: each test runs a dozen or more. */
const SLOW = 240_000;

describe("e2e: the CLI verbs on the store", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setUp(store?: string, env: NodeJS.ProcessEnv = {}) {
    const dir = tempDir("switchyard-store-cli-");
    const sink = await startSink();
    cleanups.push(() => sink.close());
    let up = false;
    sink.respond = (_req, res) => {
      res.writeHead(up ? 200 : 500).end(up ? "ok" : "upstream broke");
    };
    const file = config(dir, sink.url, store);
    const daemon = await startDaemon(file, { ...daemonEnv(dir), ...env });
    cleanups.push(() => daemon.stop("SIGKILL"));
    return { dir, sink, file, daemon, db: join(dir, "switchyard.db"), bringUp: () => (up = true) };
  }
  /** The CLI without the route's secrets or the admin token: only what the store section uses. */
  const cli = (args: string[], dir: string) => runCli(args, { STORE_DIR: dir });

  it(
    "events show, dlq list and dlq replay by event id, without the route secrets in the environment",
    async () => {
      const { dir, sink, file, daemon, bringUp } = await setUp();
      const id = await push(daemon, { ref: "refs/heads/main", after: "abc123" }, "?source=ci");
      const letters = await waitFor(async () => {
        const r = await cli(["dlq", "list", "--json", "-c", file], dir);
        expect(r.stderr).toBe("");
        const list = JSON.parse(r.stdout) as { id: string; eventId: string }[];
        return list.length === 1 ? list : undefined;
      }, "the dead letter");
      expect(letters[0]?.eventId).toBe(id);

      const listed = await cli(["events", "-c", file], dir);
      expect(listed).toMatchObject({ code: 0, stderr: "" });
      expect(listed.stdout).toContain(id);

      const json = await cli(["events", "show", id, "--json", "-c", file], dir);
      expect(json).toMatchObject({ code: 0, stderr: "" });
      const shown = JSON.parse(json.stdout) as Shown;
      expect(shown.event).toMatchObject({
        id,
        method: "POST",
        path: "/hooks/github",
        query: { source: "ci" },
        body: { ref: "refs/heads/main", after: "abc123" },
      });
      expect(shown.event.headers).toMatchObject({ "x-github-event": "push", "content-type": "application/json" });
      expect(shown.deliveries).toEqual([
        {
          id: letters[0]?.id,
          target: "notify",
          state: "dead",
          attempts: 1,
          lastError: expect.stringContaining("500"),
          // The delivery's attempts, as the console shows them.
          attemptLog: [expect.objectContaining({ attempt: 1, outcome: "dead", status: 500, response: "upstream broke" })],
        },
      ]);

      // The options of `events` may come before `show` too.
      const human = await cli(["events", "-c", file, "show", id], dir);
      expect(human).toMatchObject({ code: 0, stderr: "" });
      expect(human.stdout).toContain(`event ${id}`);
      expect(human.stdout).toContain("POST /hooks/github?source=ci");
      expect(human.stdout).toContain("x-github-event: push");
      expect(human.stdout).toContain('"after": "abc123"');
      expect(human.stdout).toMatch(/notify\s+dead\s+attempts 1\s+last error: .*500/);
      expect(human.stdout).toContain(`switchyard dlq replay ${id}`);

      const unknown = await cli(["events", "show", "no-such-event", "-c", file], dir);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no event "no-such-event" in the store');

      // Replay by the event id the logs and `events` show; an id that matches nothing is named.
      bringUp();
      const replay = await cli(["dlq", "replay", "nope-1", id, "-c", file], dir);
      expect(replay.code).toBe(1);
      expect(replay.stdout).toContain("1 delivery queued again");
      expect(replay.stderr).toContain("1 of the ids given is not in the dead-letter queue");
      expect(replay.stderr).toContain("nope-1: neither a dead letter nor a known event");
      expect(replay.stderr).not.toContain(id);
      await waitFor(() => sink.requests.length === 1, "the replayed delivery");
      expect(sink.requests[0]?.headers.authorization).toBe("Bearer ntfy-token-value");

      const delivered = await waitFor(async () => {
        const s = JSON.parse((await cli(["events", "show", id, "--json", "-c", file], dir)).stdout) as Shown;
        return s.deliveries[0]?.state === "delivered" ? s : undefined;
      }, "the delivery to be recorded");
      expect(delivered.deliveries[0]).toMatchObject({ target: "notify", attempts: 1 });
      const again = await cli(["dlq", "replay", id, "-c", file], dir);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${id}: event with no dead delivery (notify delivered)`);

      // What the store section needs is still required, by name.
      const noStoreVar = await runCli(["events", "-c", file]);
      expect(noStoreVar.code).toBe(1);
      expect(noStoreVar.stderr).toContain("store.path: environment variable STORE_DIR is not set");
      expect(noStoreVar.stderr).not.toContain("GITHUB_WEBHOOK_SECRET");
    },
    SLOW,
  );

  it(
    "never creates a store: a store file removed under a running daemon, an empty one, a path with nothing",
    async () => {
      const { dir, file, daemon, db } = await setUp();
      for (let i = 0; i < 5; i++) await push(daemon, { n: i });
      await waitFor(
        async () => JSON.parse((await cli(["dlq", "list", "--json", "-c", file], dir)).stdout).length === 5,
        "five dead letters",
      );
      const wal = `${db}-wal`;
      expect(statSync(wal).size).toBeGreaterThan(0);

      // A running daemon writes a removed file back within a second (see store-file.test.ts);
      // one killed first leaves its accepted events in the WAL beside a missing file.
      await daemon.stop("SIGKILL");
      rmSync(db);
      const walSize = statSync(wal).size;
      const missing = `store file ${db} does not exist: is store.path right? the daemon creates it on first start`;
      const verbs = [...READERS, ["events", "show", "x"], ["dlq", "replay", "--all"], ["dlq", "replay", "1"]];
      for (const [i, r] of (await Promise.all(verbs.map((args) => cli([...args, "-c", file], dir)))).entries()) {
        expect(r, verbs[i]?.join(" ")).toMatchObject({ code: 1, stderr: `switchyard: ${missing}\n` });
      }
      expect(existsSync(db)).toBe(false);
      expect(statSync(wal).size).toBe(walSize);

      // An empty file where the store was (what an older CLI left): opening it would cost the WAL.
      writeFileSync(db, "");
      const writers = [...READERS, ["dlq", "replay", "--all"]];
      for (const [i, r] of (await Promise.all(writers.map((args) => cli([...args, "-c", file], dir)))).entries()) {
        expect(r.code, writers[i]?.join(" ")).toBe(1);
        expect(r.stderr).toContain(`store file ${db} is empty (not a Switchyard store): is store.path right?`);
        expect(r.stderr).toContain(`${wal} beside it may hold accepted events: keep it`);
      }
      expect(statSync(db).size).toBe(0);
      expect(statSync(wal).size).toBe(walSize);

      // A path where there is nothing at all: no file, and no folder either.
      const elsewhere = join(dir, "typo");
      const other = config(tempDir("switchyard-store-cli-"), "http://127.0.0.1:9", `path: ${elsewhere}/switchyard.db`);
      for (const r of await Promise.all(writers.map((args) => runCli([...args, "-c", other])))) {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`store file ${elsewhere}/switchyard.db does not exist`);
      }
      expect(existsSync(elsewhere)).toBe(false);
    },
    SLOW,
  );

  it(
    "reading verbs leave the database and its WAL as they are, with the daemon running and after it was killed",
    async () => {
      const { dir, file, daemon, db } = await setUp();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await push(daemon, { n: i }));
      await waitFor(
        async () => JSON.parse((await cli(["dlq", "list", "--json", "-c", file], dir)).stdout).length === 5,
        "five dead letters",
      );
      // Every delivery is dead: the daemon has nothing left to write but the console's counters,
      // flushed every TALLY_FLUSH_MS. Wait until the files say so too, over a longer span than that.
      let before = footprint(db);
      await waitFor(
        async () => {
          await new Promise((r) => setTimeout(r, TALLY_FLUSH_MS + 500));
          const now = footprint(db);
          const stable = JSON.stringify(now) === JSON.stringify(before);
          before = now;
          return stable;
        },
        "the daemon to be idle",
        60_000,
      );
      expect(before.db).not.toBe("none");
      expect(Number(before["-wal"])).toBeGreaterThan(0);
      const readers = [...READERS, ["events", "show", ids[0] ?? ""]];
      for (const [i, r] of (await Promise.all(readers.map((args) => cli([...args, "-c", file], dir)))).entries()) {
        expect(r, readers[i]?.join(" ")).toMatchObject({ code: 0, stderr: "" });
      }
      expect(footprint(db)).toEqual(before);

      // A crashed daemon leaves its WAL behind, with every event since its last checkpoint: the
      // reading verbs see them and leave the WAL alone (a writer's close would checkpoint it away).
      await daemon.stop("SIGKILL");
      const crashed = footprint(db);
      expect(Number(crashed["-wal"])).toBeGreaterThan(0);
      const afterCrash = [
        ["events", "--json"],
        ["dlq", "list"],
        ["events", "show", ids[4] ?? ""],
      ];
      const results = await Promise.all(afterCrash.map((args) => cli([...args, "-c", file], dir)));
      for (const [i, r] of results.entries()) expect(r, afterCrash[i]?.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(footprint(db)).toEqual(crashed);
      const listed = JSON.parse(results[0]?.stdout ?? "") as { id: string }[];
      expect(listed.map((e) => e.id).sort()).toEqual([...ids].sort());
      expect(
        readdirSync(dir)
          .filter((f) => f.startsWith("switchyard.db"))
          .sort(),
      ).toEqual(["switchyard.db", "switchyard.db-shm", "switchyard.db-wal"]);

      // Replay writes, and may: without a daemon it queues them for the next start.
      const replay = await cli(["dlq", "replay", ids[0] ?? "", "-c", file], dir);
      expect(replay).toMatchObject({ code: 0, stderr: "" });
      expect(replay.stdout).toContain("1 delivery queued again");
      expect(JSON.parse((await cli(["dlq", "list", "--json", "-c", file], dir)).stdout)).toHaveLength(4);
    },
    SLOW,
  );

  describe.skipIf(!hasRedis)("on the Redis store", () => {
    it(
      "events show and dlq replay by event id, with only the store's variable set",
      async () => {
        const redis = await startRedis();
        cleanups.push(() => redis.destroy());
        const store = `type: redis, url: "\${REDIS_URL}", prefix: "e2e-${randomUUID().slice(0, 8)}"`;
        const { file, daemon, sink, bringUp } = await setUp(store, { REDIS_URL: redis.url });
        const cliEnv = { REDIS_URL: redis.url };
        const id = await push(daemon, { ref: "refs/heads/main" }, "?via=redis");
        const shown = await waitFor(async () => {
          const r = await runCli(["events", "show", id, "--json", "-c", file], cliEnv);
          expect(r).toMatchObject({ code: 0, stderr: "" });
          const s = JSON.parse(r.stdout) as Shown;
          return s.deliveries[0]?.state === "dead" ? s : undefined;
        }, "the dead delivery");
        expect(shown.event).toMatchObject({
          id,
          method: "POST",
          path: "/hooks/github",
          query: { via: "redis" },
          body: { ref: "refs/heads/main" },
        });
        expect(shown.deliveries[0]).toMatchObject({ target: "notify", attempts: 1, lastError: expect.stringContaining("500") });

        bringUp();
        const replay = await runCli(["dlq", "replay", id, "d999999", "-c", file], cliEnv);
        expect(replay.code).toBe(1);
        expect(replay.stdout).toContain("1 delivery queued again");
        expect(replay.stderr).toContain("d999999: neither a dead letter nor a known event");
        await waitFor(() => sink.requests.length === 1, "the replayed delivery");

        const missing = await runCli(["dlq", "list", "-c", file]);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("store.url: environment variable REDIS_URL is not set");
      },
      SLOW,
    );
  });
});
