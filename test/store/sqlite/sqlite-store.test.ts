import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../src/errors.js";
import type { WebhookEvent } from "../../../src/pipeline/event.js";
import { toStoreError } from "../../../src/store/sqlite/sqlite-errors.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { storeContract } from "../store-contract.js";

function makeEvent(route = "github", id: string = randomUUID()): WebhookEvent {
  return { id, route, receivedAt: new Date().toISOString(), method: "POST", path: "/hooks", query: {}, headers: {}, body: { id } };
}

/** Counts rows with a connection of its own, as another process would see them. */
function countRows(file: string, table: "events" | "deliveries" | "dedupe"): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck().get() ?? 0;
  } finally {
    db.close();
  }
}

storeContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-store-"));
  // A folder that does not exist yet: open() creates it.
  const file = join(dir, "data", "switchyard.db");
  const store = SqliteStore.open(file);
  return {
    store,
    reopen: async () => SqliteStore.open(file),
    dedupeKeys: async () => countRows(file, "dedupe"),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("SqliteStore", () => {
  let dir: string;
  let file: string;
  const toClose: SqliteStore[] = [];
  const open = (opts?: Parameters<typeof SqliteStore.open>[1]) => {
    const s = SqliteStore.open(file, opts);
    toClose.push(s);
    return s;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-sqlite-"));
    file = join(dir, "switchyard.db");
  });
  afterEach(async () => {
    for (const s of toClose.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a WAL database", () => {
    open();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("drops the lease_owner index of files made by earlier versions, and still finds leases by owner", async () => {
    await open().close();
    const raw = new Database(file);
    raw.exec("CREATE INDEX deliveries_lease_owner ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL");
    raw.close();
    const store = open();
    const indexes = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all() as string[];
      } finally {
        db.close();
      }
    };
    expect(indexes()).not.toContain("deliveries_lease_owner");
    await store.enqueue({ event: makeEvent(), targets: ["t"] });
    const [d] = await store.claim({
      route: "github",
      target: "t",
      limit: 1,
      leaseMs: 60_000,
      now: Date.now(),
      owner: "host/1/a",
      coalesce: false,
    });
    expect(d).toBeDefined();
    expect(await store.leaseOwners()).toEqual(["host/1/a"]);
    expect(await store.release("host/1/a")).toBe(1);
    expect(await store.leaseOwners()).toEqual([]);
  });

  it("opens a store reached through a symbolic link, and syncs the WAL beside the real file", async () => {
    await mkdir(join(dir, "real"));
    const real = join(dir, "real", "switchyard.db");
    await SqliteStore.open(real).close();
    const link = join(dir, "link.db");
    await symlink(real, link);
    const store = SqliteStore.open(link);
    toClose.push(store);
    const event = makeEvent();
    expect(await store.enqueue({ event, targets: ["t"] })).toEqual({ status: "accepted", id: event.id });
    expect(existsSync(`${real}-wal`)).toBe(true);
    expect(existsSync(`${link}-wal`)).toBe(false);
  });

  describe("group commit", () => {
    it("writes 500 concurrent enqueues in a handful of transactions", async () => {
      const store = open();
      const before = store.stats().commits;
      const events = Array.from({ length: 500 }, () => makeEvent());
      const results = await Promise.all(events.map((event) => store.enqueue({ event, targets: ["a", "b"] })));
      expect(results.every((r, i) => r.status === "accepted" && r.id === events[i]?.id)).toBe(true);
      const commits = store.stats().commits - before;
      expect(commits).toBeGreaterThan(0);
      expect(commits).toBeLessThanOrEqual(5);
      expect(countRows(file, "events")).toBe(500);
      expect(countRows(file, "deliveries")).toBe(1000);
    });

    it("fails one bad request alone and commits the rest of its batch", async () => {
      const store = open();
      const a = makeEvent();
      const b = makeEvent();
      const reused = makeEvent("github", a.id);
      const results = await Promise.allSettled([
        store.enqueue({ event: a, targets: ["t"] }),
        store.enqueue({ event: reused, targets: ["t"] }),
        store.enqueue({ event: b, targets: ["t"] }),
      ]);
      expect(results[0]).toEqual({ status: "fulfilled", value: { status: "accepted", id: a.id } });
      expect(results[1]?.status).toBe("rejected");
      const reason = results[1]?.status === "rejected" ? results[1].reason : undefined;
      expect(reason).not.toBeInstanceOf(StoreUnavailableError);
      expect(results[2]).toEqual({ status: "fulfilled", value: { status: "accepted", id: b.id } });
      expect(countRows(file, "deliveries")).toBe(2);
    });

    it("close() writes the waiting batch first; later calls are refused", async () => {
      const store = open();
      const event = makeEvent();
      const pending = store.enqueue({ event, targets: ["t"] });
      await store.close();
      expect(await pending).toEqual({ status: "accepted", id: event.id });
      expect(countRows(file, "events")).toBe(1);
      await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.backlog()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await store.close();
    });
  });

  describe("two stores on one file (daemon and CLI)", () => {
    it("a replay in one is claimable by the other", async () => {
      const daemon = open();
      const cli = open();
      const event = makeEvent();
      await daemon.enqueue({ event, targets: ["t"] });
      const now = Date.now();
      const [d] = await daemon.claim({ route: "github", target: "t", limit: 1, leaseMs: 60_000, now, owner: "d", coalesce: false });
      await daemon.settle(d!.id, "d", { kind: "dead", error: "boom" }, now);

      expect((await cli.deadLetters()).map((l) => l.id)).toEqual([d!.id]);
      expect(await cli.replay([d!.id], now)).toEqual({ replayed: 1, notFound: [] });
      expect(await daemon.backlog()).toHaveLength(1);
      const [again] = await daemon.claim({ route: "github", target: "t", limit: 1, leaseMs: 60_000, now, owner: "d", coalesce: false });
      expect(again).toMatchObject({ id: d!.id, attempt: 1 });
    });

    it("interleaved claims never hand out the same delivery", async () => {
      const a = open();
      const b = open();
      await Promise.all(Array.from({ length: 200 }, () => a.enqueue({ event: makeEvent(), targets: ["t"] })));
      const seen: string[] = [];
      const claimFrom = (s: SqliteStore, owner: string) =>
        s.claim({ route: "github", target: "t", limit: 7, leaseMs: 60_000, now: Date.now(), owner, coalesce: false });
      for (;;) {
        const [x, y] = await Promise.all([claimFrom(a, "a"), claimFrom(b, "b")]);
        if (x.length + y.length === 0) break;
        seen.push(...x.map((d) => d.id), ...y.map((d) => d.id));
      }
      expect(seen).toHaveLength(200);
      expect(new Set(seen).size).toBe(200);
    });

    it("a writer waits for the other's write lock, and gives up with StoreUnavailableError after busyTimeoutMs", async () => {
      const store = open({ busyTimeoutMs: 50 });
      const other = new Database(file);
      try {
        other.exec("BEGIN IMMEDIATE");
        await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toMatchObject({
          code: "STORE_UNAVAILABLE",
          cause: { code: "SQLITE_BUSY" },
        });
        other.exec("ROLLBACK");
        await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).resolves.toMatchObject({ status: "accepted" });
      } finally {
        other.close();
      }
    });
  });

  describe("opened by the CLI: an existing store only, read-only for listings", () => {
    const modes = [{ readonly: true }, { existing: true }] as const;

    it("refuses a missing file and creates nothing, not even its folder", () => {
      const missing = join(dir, "typo", "switchyard.db");
      for (const opts of modes) {
        expect(() => SqliteStore.open(missing, opts)).toThrow(
          new StoreUnavailableError(`store file ${missing} does not exist: is store.path right? the daemon creates it on first start`),
        );
      }
      expect(existsSync(join(dir, "typo"))).toBe(false);
    });

    it("refuses an empty file and keeps the WAL beside it, which SQLite would delete on the first read", async () => {
      const daemon = open();
      for (let i = 0; i < 3; i++) await daemon.enqueue({ event: makeEvent(), targets: ["t"] });
      // The store file replaced by an empty one while the daemon runs: its events are in the WAL.
      await rm(file);
      await writeFile(file, "");
      const wal = await stat(`${file}-wal`);
      expect(wal.size).toBeGreaterThan(0);
      for (const opts of modes) {
        expect(() => SqliteStore.open(file, opts)).toThrow(
          /is empty \(not a Switchyard store\): is store.path right\?.*-wal beside it may hold/,
        );
      }
      expect((await stat(`${file}-wal`)).size).toBe(wal.size);
    });

    it("refuses a file of another schema version or none, without writing to it", async () => {
      const foreign = new Database(file);
      foreign.exec("CREATE TABLE notes (text TEXT)");
      foreign.close();
      const before = await stat(file);
      for (const opts of modes) expect(() => SqliteStore.open(file, opts)).toThrow(/is not a Switchyard store \(it has no tables\)/);
      const after = new Database(file, { readonly: true });
      try {
        // Still in rollback-journal mode: the CLI did not switch it to WAL.
        expect(after.pragma("journal_mode", { simple: true })).toBe("delete");
      } finally {
        after.close();
      }
      expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);

      await rm(file);
      await open().close();
      const newer = new Database(file);
      newer.pragma("user_version = 9");
      newer.close();
      for (const opts of modes) expect(() => SqliteStore.open(file, opts)).toThrow(/has schema version 9; this Switchyard knows up to 3/);
    });

    it("leaves an older file's indexes alone: only the daemon changes the schema", async () => {
      await open().close();
      const raw = new Database(file);
      raw.exec("CREATE INDEX deliveries_lease_owner ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL");
      raw.close();
      await open({ existing: true }).close();
      await open({ readonly: true }).close();
      const db = new Database(file, { readonly: true });
      try {
        expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'deliveries_lease_owner'").pluck().all()).toHaveLength(1);
      } finally {
        db.close();
      }
    });
  });

  describe("unavailable", () => {
    it("rejects writes to a database opened read-only", async () => {
      await open().close();
      const store = open({ readonly: true });
      const rejected = store.enqueue({ event: makeEvent(), targets: ["t"] });
      await expect(rejected).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(rejected).rejects.toMatchObject({ cause: { code: expect.stringMatching(/^SQLITE_READONLY/) } });
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      // Reading still works.
      expect(await store.events()).toEqual([]);
    });

    it.skipIf(process.getuid?.() === 0)("refuses a database file the process may not write (skipped as root)", async () => {
      const { chmod } = await import("node:fs/promises");
      await open().close();
      await chmod(file, 0o444);
      await chmod(dir, 0o555); // no new -wal/-shm either
      try {
        let store: SqliteStore;
        try {
          store = open();
        } catch (err) {
          expect(err).toBeInstanceOf(StoreUnavailableError);
          return;
        }
        await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
      } finally {
        await chmod(dir, 0o755);
      }
    });

    it("ping notices that the file was deleted", async () => {
      const store = open();
      await expect(store.ping()).resolves.toBeUndefined();
      await rm(file);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it("open() fails with StoreUnavailableError where no file can be made", async () => {
      await writeFile(join(dir, "a-file"), "");
      expect(() => SqliteStore.open(join(dir, "a-file", "store.db"))).toThrow(StoreUnavailableError);
    });

    it("maps SQLite faults of the store, and only those", () => {
      const fault = (code: string) => toStoreError(new Database.SqliteError("x", code), "enqueue");
      for (const code of ["SQLITE_FULL", "SQLITE_IOERR_FSYNC", "SQLITE_READONLY_DBMOVED", "SQLITE_BUSY", "SQLITE_CANTOPEN"]) {
        const mapped = fault(code);
        expect(mapped, code).toBeInstanceOf(StoreUnavailableError);
        expect((mapped as StoreUnavailableError).cause).toMatchObject({ code });
      }
      for (const code of ["SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_ERROR", "SQLITE_MISMATCH"]) {
        expect(fault(code), code).not.toBeInstanceOf(StoreUnavailableError);
      }
      const plain = new TypeError("not a store fault");
      expect(toStoreError(plain, "claim")).toBe(plain);
    });
  });

  describe("separate processes (the built code in dist/)", () => {
    const distStore = fileURLToPath(new URL("../../../dist/src/store/sqlite/sqlite-store.js", import.meta.url));
    const built = existsSync(distStore);
    if (!built) {
      it.skip(`skipped: ${distStore} is missing; run \`npx tsc -p tsconfig.json\` (npm test does) first`, () => undefined);
      return;
    }
    const storeUrl = pathToFileURL(distStore).href;
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    });

    /** Runs `source` as an ESM script with args; calls onLine for each stdout line; resolves with its exit. */
    async function run(name: string, source: string, args: string[], onLine: (line: string, child: ChildProcess) => void) {
      const script = join(dir, name);
      await writeFile(script, source);
      const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let buffered = "";
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) onLine(line, child);
      });
      return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
        child.on("close", (code, signal) => resolve({ code, signal, stderr }));
      });
    }

    it("every event acked before a kill -9 is on disk with its deliveries", async () => {
      const writer = `
        import { SqliteStore } from ${JSON.stringify(storeUrl)};
        const [file, total] = process.argv.slice(2);
        const store = SqliteStore.open(file);
        const event = (id) => ({ id, route: "github", receivedAt: new Date().toISOString(), method: "POST",
          path: "/hooks/github", query: {}, headers: {}, body: { id } });
        for (let i = 0; i < Number(total); i += 5) {
          await Promise.all([0, 1, 2, 3, 4].map((j) => store.enqueue({ event: event("evt-" + (i + j)), targets: ["a", "b"] })
            .then((r) => process.stdout.write(r.id + "\\n"))));
          await new Promise((r) => setTimeout(r, 2)); // pace it, so the kill lands mid-stream
        }
        process.stdout.write("done\\n");
        setInterval(() => {}, 1000);
      `;
      const acked: string[] = [];
      const exit = await run("writer.mjs", writer, [file, "300"], (line, child) => {
        if (line === "done") return;
        acked.push(line);
        if (acked.length === 60) child.kill("SIGKILL");
      });
      expect(exit.stderr).toBe("");
      expect(exit.signal).toBe("SIGKILL");
      expect(acked.length).toBeGreaterThanOrEqual(60);
      expect(acked.length).toBeLessThan(300);

      const store = open();
      const events = await store.events({ limit: 1000 });
      const stored = new Map(events.map((e) => [e.id, e.deliveries.map((d) => d.target).sort()]));
      for (const id of acked) expect(stored.get(id), id).toEqual(["a", "b"]);
      // Whatever else made it in is whole: an event is never stored without its deliveries.
      for (const targets of stored.values()) expect(targets).toEqual(["a", "b"]);
    });

    it.skipIf(process.getuid?.() !== 0)(
      "a listing by a user who may read the store but not write its folder: works beside the daemon, says why without one (needs root)",
      async () => {
        const { chmod, readdir } = await import("node:fs/promises");
        const lister = `
          import { SqliteStore } from ${JSON.stringify(storeUrl)};
          try {
            const store = SqliteStore.open(process.argv[2], { readonly: true });
            process.stdout.write(String((await store.events()).length));
            await store.close();
          } catch (err) {
            process.stdout.write(err.message);
          }
        `;
        const script = join(dir, "lister.mjs");
        await writeFile(script, lister);
        const listAsNobody = () =>
          spawnSync(process.execPath, [script, file], { uid: 65534, gid: 65534, encoding: "utf8", timeout: 60_000 }).stdout;
        await chmod(dir, 0o755);
        await chmod(script, 0o644);

        const daemon = open();
        await daemon.enqueue({ event: makeEvent(), targets: ["t"] });
        for (const f of await readdir(dir)) await chmod(join(dir, f), 0o644);
        expect(listAsNobody()).toBe("1");

        await daemon.close();
        expect(existsSync(`${file}-wal`)).toBe(false);
        expect(listAsNobody()).toBe(
          `cannot read store file ${file} (attempt to write a readonly database): this user must be able to read it and, while no daemon runs, create ${file}-wal and -shm in its folder: run as the daemon's user, or while the daemon runs`,
        );
        expect(existsSync(`${file}-wal`)).toBe(false);
      },
    );

    it("claims from two processes at once never hand out the same delivery", async () => {
      const seed = open();
      await Promise.all(Array.from({ length: 300 }, () => seed.enqueue({ event: makeEvent(), targets: ["t"] })));
      // Both start claiming together once both are up: on a loaded machine one process can
      // take seconds longer to start, and would find nothing left to claim.
      const go = join(dir, "go");
      const claimer = `
        import { existsSync } from "node:fs";
        import { SqliteStore } from ${JSON.stringify(storeUrl)};
        import { writeFileSync } from "node:fs";
        const [file, owner, other, go] = process.argv.slice(2);
        const store = SqliteStore.open(file, { busyTimeoutMs: 10000 });
        const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
        process.stdout.write("ready\\n");
        while (!existsSync(go)) await sleep(2);
        // Each waits, after its first claim, for the other's first claim: a process that starts
        // late on a loaded machine would otherwise find the queue already empty.
        let first = true;
        for (let idle = 0; idle < 20; ) {
          const got = await store.claim({ route: "github", target: "t", limit: 5, leaseMs: 60000, now: Date.now(), owner, coalesce: false });
          if (got.length === 0) { idle++; await sleep(5); continue; }
          idle = 0;
          for (const d of got) process.stdout.write(d.id + "\\n");
          if (first) {
            first = false;
            writeFileSync(go + "-" + owner, "");
            while (!existsSync(go + "-" + other)) await sleep(2);
          }
          await sleep(1);
        }
        await store.close();
      `;
      const byOwner: Record<string, string[]> = { p1: [], p2: [] };
      let ready = 0;
      const exits = await Promise.all(
        ["p1", "p2"].map((owner) =>
          run(`claimer-${owner}.mjs`, claimer, [file, owner, owner === "p1" ? "p2" : "p1", go], (line) => {
            if (line !== "ready") byOwner[owner]?.push(line);
            else if (++ready === 2) void writeFile(go, "");
          }),
        ),
      );
      for (const exit of exits) expect(exit).toMatchObject({ code: 0, stderr: "" });
      const all = [...(byOwner.p1 ?? []), ...(byOwner.p2 ?? [])];
      expect(all).toHaveLength(300);
      expect(new Set(all).size).toBe(300);
      expect(byOwner.p1?.length).toBeGreaterThan(0);
      expect(byOwner.p2?.length).toBeGreaterThan(0);
    });
  });
});
