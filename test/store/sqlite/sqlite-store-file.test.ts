import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../src/errors.js";
import { type ReceivedEvent, receivedEvent } from "../../../src/pipeline/event.js";
import { REAL_PLACE_FS } from "../../../src/store/sqlite/sqlite-copy.js";
import { SqliteStore, type StoreLog } from "../../../src/store/sqlite/sqlite-store.js";
import { immutableStopsOpenFiles, mountTmpfs, setImmutable, type Tmpfs } from "../../server/tmpfs.js";

/**
 * The store watching its own files, in process: a removed WAL is written back and the store
 * reopened; a checkpoint that fails is logged with the WAL's size, not once per second; a removed
 * file whose copy cannot be put back leaves the store refusing, never opening an empty file.
 */

function makeEvent(): ReceivedEvent {
  const id = randomUUID();
  const rawBody = Buffer.from(JSON.stringify({ id }));
  return receivedEvent({
    id,
    route: "r",
    receivedAt: new Date().toISOString(),
    method: "POST",
    path: "/r",
    query: {},
    headers: {},
    rawBody,
  });
}

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    () => true,
    () => false,
  );

function captureLog(): { log: StoreLog; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: object, msg: string) => lines.push({ level, msg, fields: fields as Record<string, unknown> });
  return { log: { info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

async function until(what: () => boolean | Promise<boolean>, label: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await what()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("SqliteStore: its own files", () => {
  let dir: string;
  let file: string;
  const cleanups: (() => unknown)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-storefile-"));
    file = join(dir, "store.db");
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a removed WAL: refuses at once, writes what it held back into the file, reopens, and loses nothing", async () => {
    const { log, lines } = captureLog();
    const store = SqliteStore.open(file, { log, checkIntervalMs: 50 });
    cleanups.push(() => store.close());
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) acked.push((await store.enqueue({ event: makeEvent(), targets: ["t"] })).id);

    rmSync(`${file}-wal`);
    await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
    await until(() => lines.some((l) => l.msg.includes("reopened; accepting webhooks")), "the store to reopen");
    expect(lines.filter((l) => l.msg.includes(`${file}-wal was removed or replaced`))).toHaveLength(1);
    acked.push((await store.enqueue({ event: makeEvent(), targets: ["t"] })).id);
    await store.ping();
    await store.close();

    const again = SqliteStore.open(file);
    cleanups.push(() => again.close());
    const ids = new Set((await again.events({ limit: 1000 })).map((e) => e.id));
    for (const id of acked) expect(ids.has(id)).toBe(true);
  });

  const roSkip = (() => {
    const probe = mkdtempSync(join(tmpdir(), "switchyard-immutable-"));
    try {
      return immutableStopsOpenFiles(probe);
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  })();

  it.skipIf(roSkip !== undefined)("a checkpoint that fails is logged with the WAL's size, at most once a minute", async () => {
    const { log, lines } = captureLog();
    const store = SqliteStore.open(file, { log, checkIntervalMs: 20, walCheckBytes: 0 });
    cleanups.push(() => store.close());
    for (let i = 0; i < 20; i++) await store.enqueue({ event: makeEvent(), targets: ["t"] });
    setImmutable([file], true);
    cleanups.push(() => setImmutable([file], false));
    // Writes that still reach the WAL (a worker's claims) while the database file refuses them.
    await store.claim({ route: "r", target: "t", limit: 20, leaseMs: 60_000, now: Date.now(), owner: "me", coalesce: false });
    await until(() => lines.some((l) => l.msg.includes("checkpoint of store file")), "the failed checkpoint to be logged");
    await new Promise((r) => setTimeout(r, 300));
    const failed = lines.filter((l) => l.msg.includes("checkpoint of store file"));
    expect(failed).toHaveLength(1);
    expect(failed[0]?.level).toBe("warn");
    expect(failed[0]?.fields.walBytes).toBeGreaterThan(0);
    expect(failed[0]?.msg).toContain(file);
    expect(store.walBytes()).toBeGreaterThan(0);
  });

  const mountSkip = (() => {
    const probe = mountTmpfs("64k");
    if (typeof probe === "string") return probe;
    probe.unmount();
    return undefined;
  })();

  it.skipIf(mountSkip !== undefined)(
    "started on a read-only mount: refuses and says why, then reopens by itself once it is writable",
    async () => {
      // A store as a crashed daemon leaves it (WAL and shm beside it), copied onto a tmpfs that is
      // then made read-only: SQLite opens it, read-only for good.
      const live = SqliteStore.open(file);
      const acked = (await live.enqueue({ event: makeEvent(), targets: ["t"] })).id;
      const fs = mountTmpfs("4m") as Tmpfs;
      cleanups.push(() => fs.unmount());
      const onMount = join(fs.dir, "store.db");
      for (const suffix of ["", "-wal", "-shm"]) copyFileSync(`${file}${suffix}`, `${onMount}${suffix}`);
      await live.close();
      fs.remount("ro");

      const { log, lines } = captureLog();
      const store = SqliteStore.open(onMount, { log, checkIntervalMs: 50 });
      cleanups.push(() => store.close());
      await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(lines.filter((l) => l.msg.includes(`store file ${onMount} cannot be written`))).toHaveLength(1);

      fs.remount("rw");
      await until(
        async () =>
          (await store.ping().then(
            () => true,
            () => false,
          )) === true,
        "the store to be writable again",
      );
      const late = (await store.enqueue({ event: makeEvent(), targets: ["t"] })).id;
      expect(lines.some((l) => l.msg.includes("reopened; accepting webhooks"))).toBe(true);
      const ids = new Set((await store.events({ limit: 100 })).map((e) => e.id));
      expect(ids.has(acked) && ids.has(late)).toBe(true);
    },
  );

  it("a removed file whose copy cannot be linked back (EPERM: no hard links there) is copied back, losing nothing", async () => {
    const { log, lines } = captureLog();
    const link = () => {
      throw errno("EPERM");
    };
    const store = SqliteStore.open(file, { log, checkIntervalMs: 20, placeFs: { ...REAL_PLACE_FS, link } });
    cleanups.push(() => store.close());
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) acked.push((await store.enqueue({ event: makeEvent(), targets: ["t"] })).id);
    rmSync(file);
    await until(() => lines.some((l) => l.msg.includes("rebuilt from the database the daemon held open")), "the file to be rebuilt");
    acked.push((await store.enqueue({ event: makeEvent(), targets: ["t"] })).id);
    await store.close();
    expect(readdirSync(dir).filter((f) => f.includes(".rebuild-"))).toEqual([]);

    const again = SqliteStore.open(file);
    cleanups.push(() => again.close());
    const ids = new Set((await again.events({ limit: 1000 })).map((e) => e.id));
    for (const id of acked) expect(ids.has(id)).toBe(true);
  });

  it("a removed file whose copy cannot be put back: keeps refusing, never opens an empty store, and keeps the copy", async () => {
    const { log, lines } = captureLog();
    const link = () => {
      throw errno("EACCES");
    };
    const store = SqliteStore.open(file, { log, checkIntervalMs: 20, placeFs: { ...REAL_PLACE_FS, link } });
    cleanups.push(() => store.close());
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) acked.push((await store.enqueue({ event: makeEvent(), targets: ["t"] })).id);
    rmSync(file);
    await until(() => lines.some((l) => l.msg.includes("could not put the copy of the removed store file back")), "the failed placement");
    // Many checks later: still nothing at the path, and webhooks and /readyz still refused.
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(file)).toBe(false);
    await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      store.claim({ route: "r", target: "t", limit: 5, leaseMs: 60_000, now: Date.now(), owner: "w", coalesce: false }),
    ).rejects.toThrow(/could not be rebuilt/);
    expect(lines.some((l) => l.msg.includes("accepting webhooks"))).toBe(false);
    expect(lines.filter((l) => l.msg.includes("could not reopen"))).toEqual([]);
    const failed = lines.filter((l) => l.msg.includes("could not put the copy"));
    expect(failed).toHaveLength(1);
    const copy = String(failed[0]?.fields.savedAs);
    expect(failed[0]?.msg).toContain(copy);
    await store.close();
    expect(existsSync(file)).toBe(false);

    // As the log says: the copy, moved into place, holds every acked event; the next start opens it.
    const copyDb = new Database(copy, { readonly: true });
    const inCopy = new Set(copyDb.prepare<[], string>("SELECT id FROM events").pluck().all());
    copyDb.close();
    for (const id of acked) expect(inCopy.has(id)).toBe(true);
  });

  it("at start, warns about copies an earlier daemon left beside the store", async () => {
    writeFileSync(`${file}.rebuild-2026-12-01T20-00-00Z-abc123`, "");
    writeFileSync(`${file}.saved-2026-12-01T20-00-01Z-def456`, "");
    writeFileSync(join(dir, "other.db.saved-x"), "");
    const { log, lines } = captureLog();
    const store = SqliteStore.open(file, { log });
    cleanups.push(() => store.close());
    const warned = lines.filter((l) => l.level === "warn" && l.msg.includes("may hold events not delivered yet"));
    expect(warned.map((l) => l.fields.savedAs)).toEqual([
      `${file}.rebuild-2026-12-01T20-00-00Z-abc123`,
      `${file}.saved-2026-12-01T20-00-01Z-def456`,
    ]);
    // The CLI opens the daemon's store: it says nothing of them.
    const cli = captureLog();
    const replay = SqliteStore.open(file, { existing: true, log: cli.log });
    await replay.close();
    expect(cli.lines).toEqual([]);
  });

  it("a removed file: a worker's settlements made while the copy is taken are refused, not lost", async () => {
    const { log, lines } = captureLog();
    const store = SqliteStore.open(file, { log, checkIntervalMs: 60_000 });
    cleanups.push(() => store.close());
    for (let i = 0; i < 200; i++) await store.enqueue({ event: makeEvent(), targets: ["t"] });
    const claimed = await store.claim({
      route: "r",
      target: "t",
      limit: 200,
      leaseMs: 600_000,
      now: Date.now(),
      owner: "w",
      coalesce: false,
    });
    expect(claimed).toHaveLength(200);

    rmSync(file);
    // Webhooks keep coming (so an fsync of the WAL is in flight when the store puts its
    // connection aside, and the close waits for it), and a worker settles as fast as it can.
    const done: string[] = [];
    for (const d of claimed) {
      void settled(store.enqueue({ event: makeEvent(), targets: ["t"] }));
      if (await settled(store.settle(d.id, "w", { kind: "delivered" }, Date.now()))) done.push(d.id);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => lines.some((l) => l.msg.includes("rebuilt")), "the file to be rebuilt");
    await store.close();

    const db = new Database(file, { readonly: true });
    const delivered = new Set(db.prepare<[], number>("SELECT id FROM deliveries WHERE state = 'delivered'").pluck().all().map(String));
    db.close();
    const lost = done.filter((id) => !delivered.has(id));
    expect(lost).toEqual([]);
  });

  it("a checkpoint held back by a reader is logged with the WAL's size, and a failing reopen is logged too", async () => {
    const { log, lines } = captureLog();
    // A short busy timeout: writing the WAL back waits that long for the reader, blocking the loop.
    const store = SqliteStore.open(file, { log, checkIntervalMs: 20, walCheckBytes: 0, busyTimeoutMs: 50 });
    cleanups.push(() => store.close());
    for (let i = 0; i < 10; i++) await store.enqueue({ event: makeEvent(), targets: ["t"] });
    // A reader holding its snapshot (a long `switchyard events`, sqlite3 left open in a transaction).
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => reader.close());
    reader.prepare("BEGIN").run();
    reader.prepare("SELECT count(*) FROM events").get();
    cleanups.push(() => reader.prepare("COMMIT").run());
    for (let i = 0; i < 10; i++) await store.enqueue({ event: makeEvent(), targets: ["t"] });
    await until(() => lines.some((l) => l.msg.includes("held back by another process")), "the blocked checkpoint to be logged");
    const held = lines.filter((l) => l.msg.includes("held back by another process"));
    expect(held[0]?.level).toBe("warn");
    expect(held[0]?.fields.walBytes).toBeGreaterThan(0);
    expect(held[0]?.msg).toContain(file);

    // Another fault within the minute has a line of its own: the WAL removed, and the reader
    // still keeping it from being written back.
    rmSync(`${file}-wal`);
    await until(() => lines.some((l) => l.msg.includes("could not reopen store file")), "the failed reopen to be logged");
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.filter((l) => l.msg.includes("held back by another process"))).toHaveLength(1);
    expect(lines.filter((l) => l.msg.includes("could not reopen store file"))).toHaveLength(1);
  });

  it("the CLI's store (replay) never rebuilds a file removed while it runs", async () => {
    const daemon = SqliteStore.open(file);
    await daemon.enqueue({ event: makeEvent(), targets: ["t"] });
    await daemon.close();
    const { log, lines } = captureLog();
    const cli = SqliteStore.open(file, { existing: true, log, checkIntervalMs: 20 });
    cleanups.push(() => cli.close());
    rmSync(file);
    expect(await settled(cli.ping())).toBe(false);
    expect(lines.filter((l) => l.msg.includes("was removed"))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(file)).toBe(false);
    await cli.close();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a rebuilt file in place whose folder cannot be synced: says so, names no deleted copy, and accepts again", async () => {
    const { log, lines } = captureLog();
    const syncFolder = () => {
      throw errno("EIO");
    };
    const store = SqliteStore.open(file, { log, checkIntervalMs: 20, placeFs: { ...REAL_PLACE_FS, syncFolder } });
    cleanups.push(() => store.close());
    const acked = (await store.enqueue({ event: makeEvent(), targets: ["t"] })).id;
    rmSync(file);
    await until(() => lines.some((l) => l.msg.includes("rebuilt from the database the daemon held open")), "the file to be rebuilt");
    expect(lines.filter((l) => l.msg.includes("could not reopen"))).toEqual([]);
    const unsynced = lines.filter((l) => l.msg.includes("syncing its folder failed"));
    expect(unsynced).toHaveLength(1);
    expect(unsynced[0]?.msg).toContain(file);
    expect(unsynced[0]?.msg).not.toContain(".rebuild-");
    expect(lines.some((l) => l.msg.includes("could not put the copy"))).toBe(false);
    const late = (await store.enqueue({ event: makeEvent(), targets: ["t"] })).id;
    const ids = new Set((await store.events({ limit: 100 })).map((e) => e.id));
    expect(ids.has(acked) && ids.has(late)).toBe(true);
  });
});
