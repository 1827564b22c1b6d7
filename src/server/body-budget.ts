/**
 * The bytes of request bodies the process holds at once, across all requests. body_limit bounds
 * one request; this bounds their sum, so a thousand connections each trickling a 1 MB body
 * cannot take a gigabyte: past the budget a webhook is answered 503 + Retry-After before its
 * body is read, and the provider retries. A request reserves its declared Content-Length (or
 * body_limit when chunked) before reading, and gives it back when its answer is done: the parsed
 * body and the stored document live until then too.
 */
export class BodyBudget {
  private held = 0;

  /** `limit` is read on every reservation, so a reload applies at once. */
  constructor(private readonly limit: () => number) {}

  get inUse(): number {
    return this.held;
  }

  /** A release function, or undefined when the budget has no room for `bytes` now. */
  reserve(bytes: number): (() => void) | undefined {
    if (bytes > 0 && this.held + bytes > this.limit()) return undefined;
    this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
    };
  }
}
