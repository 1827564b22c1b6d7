import { describe, expect, it } from "vitest";
import { GroupCommit, type ItemResult } from "../../src/store/group-commit.js";

const ok = <T>(value: T): ItemResult<T> => ({ ok: true, value });

describe("group commit", () => {
  it("writes what arrives in one turn as one batch, synchronously for a synchronous writer", async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, number>(
      (items) => {
        batches.push([...items]);
        return items.map((i) => ok(i * 2));
      },
      { maxBatch: 3 },
    );
    const answers = Promise.all([1, 2, 3, 4].map((i) => gc.submit(i)));
    // The fourth waits for the next turn; the first three filled a batch and were written at once.
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await answers).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it("waits for the disk's fsync in flight, then writes what arrived meanwhile as one batch; a full batch and flush() do not wait", async () => {
    const batches: number[][] = [];
    let fsyncDone: (() => void) | undefined;
    let fsync: Promise<void> | undefined;
    const gc = new GroupCommit<number, number>(
      (items) => {
        batches.push([...items]);
        return items.map((i) => ok(i));
      },
      { maxBatch: 4, wait: () => fsync },
    );
    const turn = () => new Promise((r) => setImmediate(r));
    fsync = new Promise<void>((r) => (fsyncDone = r));
    const answers = [gc.submit(1)];
    await turn();
    answers.push(gc.submit(2));
    await turn();
    // Two turns, nothing written: the fsync is still running.
    expect(batches).toEqual([]);
    // Another fsync already running when this one ends does not hold the batch again.
    fsync = new Promise<void>(() => {});
    fsyncDone?.();
    // Written on the turn after the fsync's end: its own callers are answered first.
    await turn();
    await turn();
    expect(batches).toEqual([[1, 2]]);
    // A full batch is written at once, fsync or not (this fsync never ends).
    answers.push(...[3, 4, 5, 6].map((i) => gc.submit(i)));
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    // An explicit flush (the store closing, or putting its file aside) does not wait either.
    answers.push(gc.submit(7));
    await turn();
    expect(batches).toHaveLength(2);
    gc.flush();
    expect(batches).toEqual([[1, 2], [3, 4, 5, 6], [7]]);
    expect(await Promise.all(answers)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("waits for a stalled fsync no longer than maxWaitMs", async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, number>(
      (items) => {
        batches.push([...items]);
        return items.map((i) => ok(i));
      },
      { maxBatch: 10, wait: () => new Promise<void>(() => {}), maxWaitMs: 30 },
    );
    const started = Date.now();
    expect(await gc.submit(1)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(batches).toEqual([[1]]);
  });

  it("keeps one batch of an asynchronous writer in flight; what arrives meanwhile forms the next", async () => {
    const batches: string[][] = [];
    let finish: (() => void) | undefined;
    const gc = new GroupCommit<string, string>(
      async (items) => {
        batches.push([...items]);
        await new Promise<void>((r) => {
          finish = r;
        });
        return items.map((i) => ok(i.toUpperCase()));
      },
      { maxBatch: 10 },
    );
    const first = gc.submit("a");
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([["a"]]);
    const later = [gc.submit("b"), gc.submit("c")];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([["a"]]); // still one in flight
    finish?.();
    expect(await first).toBe("A");
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([["a"], ["b", "c"]]);
    finish?.();
    expect(await Promise.all(later)).toEqual(["B", "C"]);
    await gc.drain();
  });

  it("bounds a batch by bytes, and rejects every caller of a failed batch with the store's error", async () => {
    const batches: string[][] = [];
    const gc = new GroupCommit<string, string>(
      async (items) => {
        batches.push([...items]);
        if (items.includes("boom")) throw new Error("connection lost");
        return items.map((i) => ok(i));
      },
      {
        maxBatch: 10,
        maxBytes: 8,
        sizeOf: (s) => s.length,
        batchError: (err) => new Error(`store unavailable: ${(err as Error).message}`),
      },
    );
    const results = await Promise.allSettled(["aaaa", "bbbb", "boom", "cc"].map((s) => gc.submit(s)));
    expect(batches).toEqual([
      ["aaaa", "bbbb"],
      ["boom", "cc"],
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      "aaaa",
      "bbbb",
      "store unavailable: connection lost",
      "store unavailable: connection lost",
    ]);
  });
});
