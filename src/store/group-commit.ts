/** One item's outcome inside a batch: its own failure does not fail the others. */
export type ItemResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: calls that arrive in the same turn of the event loop are written together by
 * one `writeBatch` (one transaction, one fsync) and then each caller hears its own result.
 * Durable writes then cost one fsync per batch instead of one per request, which is what lets
 * a 202 wait for the disk without capping ingress at the disk's fsync rate.
 *
 * `writeBatch` returns one result per item, in order; if it throws, the whole batch failed
 * (nothing was committed) and every caller is rejected with that error.
 */
export class GroupCommit<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly writeBatch: (items: readonly I[]) => ItemResult<O>[],
    /** A full batch is written at once rather than on the next turn, bounding the transaction's size. */
    private readonly maxBatch: number,
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.flush();
      // setImmediate runs after the I/O callbacks of this turn, so requests parsed in the
      // same turn share the commit without adding a timer's latency.
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Writes everything waiting now (synchronously). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];

    let results: ItemResult<O>[];
    try {
      results = this.writeBatch(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const r = results[i];
      if (r === undefined) w.reject(new Error("group commit: writeBatch returned too few results"));
      else if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    });
  }
}
