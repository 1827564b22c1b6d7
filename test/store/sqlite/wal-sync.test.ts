import { closeSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WalSync } from "../../../src/store/sqlite/wal-sync.js";

describe("WalSync", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-walsync-"));
    file = join(dir, "db-wal");
    writeFileSync(file, "frames");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("answers every commit once an fsync after it has finished, in order", async () => {
    const sync = new WalSync(file);
    const order: number[] = [];
    const seqs = [sync.committedOne(), sync.committedOne()];
    const first = seqs.map((s) => sync.durableThrough(s).then(() => order.push(s)));
    // Committed while the first fsync may be running: covered by that one or the next.
    const third = sync.committedOne();
    const last = sync.durableThrough(third).then(() => order.push(third));
    await Promise.all([...first, last]);
    expect(order).toEqual([1, 2, 3]);
    // Already durable: answered without another fsync.
    await expect(sync.durableThrough(2)).resolves.toBeUndefined();
    await sync.close();
  });

  it("tells whether an fsync is running, and settles that promise when it ends, failed or not", async () => {
    const sync = new WalSync(file);
    expect(sync.inFlight()).toBeUndefined();
    const done = sync.durableThrough(sync.committedOne());
    const running = sync.inFlight();
    expect(running).toBeInstanceOf(Promise);
    await running;
    await done;
    expect(sync.inFlight()).toBeUndefined();
    closeSync((sync as unknown as { fd: number }).fd);
    const failing = sync.durableThrough(sync.committedOne()).catch(() => "failed");
    await expect(sync.inFlight()).resolves.toBeUndefined();
    expect(await failing).toBe("failed");
  });

  it("rejects the commits an fsync failed for, and every later one", async () => {
    const sync = new WalSync(file);
    // Break the descriptor under it, as a failing disk would fail the call.
    closeSync((sync as unknown as { fd: number }).fd);
    const seq = sync.committedOne();
    await expect(sync.durableThrough(seq)).rejects.toMatchObject({ code: "EBADF" });
    // For good: a later fsync's success would not prove the earlier pages reached the disk.
    expect(sync.failed).toMatchObject({ code: "EBADF" });
    await expect(sync.durableThrough(seq + 1)).rejects.toMatchObject({ code: "EBADF" });
  });
});
