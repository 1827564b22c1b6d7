/** One item's outcome inside a batch: its own failure does not fail the others. */
export type ItemResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<I> {
  /** A full batch is written at once rather than on the next turn, bounding the transaction's size. */
  maxBatch: number;
  /** With `sizeOf`: a batch stops growing past this many bytes (it always takes at least one item). */
  maxBytes?: number;
  sizeOf?: (item: I) => number;
  /** What callers are rejected with when a whole batch fails (a store maps driver errors to its own). */
  batchError?: (error: unknown) => unknown;
  /**
   * A promise to wait for before the next batch is written, or undefined to write it now. The
   * SQLite store passes the fsync in flight: a commit made during it would wait for the next
   * fsync anyway, so what arrives meanwhile is written as one batch once it ends, instead of
   * several small ones (each commit rewrites the index pages it touched). A batch waits for one
   * such promise at most, and at most `maxWaitMs`; a full batch (maxBatch) and an explicit
   * flush() do not wait.
   */
  wait?: () => Promise<unknown> | undefined;
  /** With `wait`: the longest a batch waits (a disk that stalls for seconds must not stall it as long). */
  maxWaitMs?: number;
}

/**
 * Group commit: calls that arrive in the same turn of the event loop (or, with `wait`, while
 * what it returned is pending) are written together by one `writeBatch` (one transaction, one
 * fsync or round trip) and then each caller hears its own result. Durable writes then cost one
 * commit per batch instead of one per request, which is what lets a 202 wait for the disk
 * without capping ingress at the disk's fsync rate.
 *
 * `writeBatch` returns one result per item, in order; if it throws (or its promise rejects),
 * the whole batch failed (nothing was committed) and every caller of that batch is rejected.
 * A synchronous writer (SQLite) writes each batch within `flush`; an asynchronous one (Redis)
 * has one batch in flight at a time, and what arrives meanwhile forms the next batch.
 */
export class GroupCommit<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private inflight: Promise<void> | undefined;
  /** Set while the batch waits for options.wait's promise. */
  private waited: Promise<void> | undefined;

  constructor(
    private readonly writeBatch: (items: readonly I[]) => ItemResult<O>[] | Promise<ItemResult<O>[]>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.options.maxBatch && !this.inflight) this.flush();
      // setImmediate runs after the I/O callbacks of this turn, so requests parsed in the
      // same turn share the commit without adding a timer's latency.
      else this.scheduled ??= setImmediate(() => this.flushWhenReady());
    });
  }

  /** The turn's flush: now, or once what options.wait returns has settled. */
  private flushWhenReady(): void {
    this.scheduled = undefined;
    if (this.waited) return;
    const pending = this.options.wait?.();
    if (!pending) {
      this.flush();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const bound =
      this.options.maxWaitMs === undefined
        ? pending
        : Promise.race([pending, new Promise((r) => (timer = setTimeout(r, this.options.maxWaitMs)))]);
    // On the next check phase, not as a microtask: the callers the awaited fsync answered get
    // their answers out before this batch's transaction holds the thread.
    const resume = () => {
      clearTimeout(timer);
      setImmediate(() => {
        this.waited = undefined;
        this.flush();
      });
    };
    this.waited = bound.then(resume, resume);
  }

  /** Writes everything waiting now: synchronously for a synchronous writer; else starts the next batch. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    while (!this.inflight && this.waiting.length > 0) {
      const batch = this.take();
      let written: ItemResult<O>[] | Promise<ItemResult<O>[]>;
      try {
        written = this.writeBatch(batch.map((w) => w.item));
      } catch (err) {
        this.fail(batch, err);
        continue;
      }
      if (!(written instanceof Promise)) {
        this.settle(batch, written);
        continue;
      }
      this.inflight = written
        .then(
          (results) => this.settle(batch, results),
          (err: unknown) => this.fail(batch, err),
        )
        .finally(() => {
          this.inflight = undefined;
          this.flush();
        });
    }
  }

  /** Resolves once everything submitted so far has been written (or failed). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inflight) await this.inflight;
  }

  private take(): Waiting<I, O>[] {
    const { maxBatch, maxBytes, sizeOf } = this.options;
    let n = 0;
    let bytes = 0;
    while (n < this.waiting.length && n < maxBatch) {
      const w = this.waiting[n];
      if (maxBytes !== undefined && sizeOf && w) {
        bytes += sizeOf(w.item);
        if (n > 0 && bytes > maxBytes) break;
      }
      n++;
    }
    return this.waiting.splice(0, n);
  }

  private fail(batch: readonly Waiting<I, O>[], err: unknown): void {
    const error = this.options.batchError ? this.options.batchError(err) : err;
    for (const w of batch) w.reject(error);
  }

  private settle(batch: readonly Waiting<I, O>[], results: readonly ItemResult<O>[]): void {
    batch.forEach((w, i) => {
      const r = results[i];
      if (r === undefined) w.reject(new Error("group commit: writeBatch returned too few results"));
      else if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    });
  }
}
