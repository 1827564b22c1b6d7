import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../src/errors.js";
import type { WebhookEvent } from "../../../src/pipeline/event.js";
import { SqliteStore, type StoreLog } from "../../../src/store/sqlite/sqlite-store.js";
import { immutableStopsOpenFiles, mountTmpfs, setImmutable, type Tmpfs } from "../../server/tmpfs.js";

/**
 * The store watching its own files, in process: a removed WAL is written back and the store
 * reopened; a checkpoint that fails is logged with the WAL's size, not once per second.
 */

function makeEvent(): WebhookEvent {
  const id = randomUUID();
  return { id, route: "r", receivedAt: new Date().toISOString(), method: "POST", path: "/r", query: {}, headers: {}, body: { id } };
}

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

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
});
