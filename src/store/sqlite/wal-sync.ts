import { closeSync, fstatSync, fsync, openSync } from "node:fs";

/**
 * Durability of group commits without blocking the event loop. The store commits with
 * synchronous=NORMAL (the WAL frames are written, not fsync'd) and then waits here, on libuv's
 * thread pool, for an fsync of the WAL file before it answers: the same guarantee as
 * synchronous=FULL, which fsyncs the WAL on every commit, but the event loop goes on parsing and
 * verifying the next requests meanwhile, and the commits made during one fsync share the next.
 *
 * fsync is per file, not per descriptor: this read-only descriptor flushes what SQLite's own
 * wrote. The WAL file lives as long as the store's connection (SQLite removes it only when the
 * last connection closes); a checkpoint syncs the WAL and the database before it reuses the WAL.
 */
export class WalSync {
  private readonly fd: number;
  private committed = 0;
  private durable = 0;
  private syncing = false;
  private current: Promise<void> | undefined;
  private waiters: { seq: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /**
   * The first fsync error, for good. After a failed writeback Linux reports the error once and
   * marks the pages clean: a later fsync may succeed although they never reached the disk, so
   * no later success can be trusted (PostgreSQL stops for the same reason).
   */
  failed: Error | undefined;

  /**
   * @param verify checked after each successful fsync, before the commits it covers are
   *   acknowledged: an error (the store's file was removed, say) rejects them instead, without
   *   condemning the WAL for good as a failed fsync does.
   */
  constructor(
    walPath: string,
    private readonly verify?: () => Error | undefined,
  ) {
    this.fd = openSync(walPath, "r");
  }

  /** The WAL file's size on disk, in bytes. */
  size(): number {
    return fstatSync(this.fd).size;
  }

  /** Call right after a commit: returns its number, for durableThrough(). */
  committedOne(): number {
    return ++this.committed;
  }

  /** Resolves once commit `seq`, and every one before it, is on disk; rejects if the fsync fails. */
  durableThrough(seq: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (seq <= this.durable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.next();
    });
  }

  /**
   * Settles when the fsync in flight ends (however it ends), just before the commits it covers
   * are answered and the next fsync starts; undefined when none is running.
   */
  inFlight(): Promise<void> | undefined {
    return this.current;
  }

  /** Waits for what is waiting, then closes the descriptor. */
  async close(): Promise<void> {
    await this.durableThrough(this.committed).catch(() => undefined);
    closeSync(this.fd);
  }

  private next(): void {
    if (this.syncing || this.waiters.length === 0) return;
    this.syncing = true;
    const target = this.committed;
    let ended = () => {};
    this.current = new Promise<void>((resolve) => (ended = resolve));
    fsync(this.fd, (err) => {
      this.syncing = false;
      this.current = undefined;
      ended();
      if (err) {
        this.failed ??= err;
        const all = this.waiters;
        this.waiters = [];
        for (const w of all) w.reject(this.failed);
        return;
      }
      const covered = this.waiters.filter((w) => w.seq <= target);
      this.waiters = this.waiters.filter((w) => w.seq > target);
      const problem = this.verify?.();
      if (problem) {
        for (const w of covered) w.reject(problem);
      } else {
        this.durable = Math.max(this.durable, target);
        for (const w of covered) w.resolve();
      }
      this.next();
    });
  }
}
