/**
 * Waiting pulls, by route: an event accepted on a route with a relay target answers the pulls
 * waiting for it at once (a long poll that waits for its next recheck would add up to a second
 * to every event's way home). Only a hint: the pull reads the store either way.
 */
export class RelayHub {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** An event was stored on `route`. */
  accepted(route: string): void {
    const set = this.waiters.get(route);
    if (!set) return;
    this.waiters.delete(route);
    for (const wake of set) wake();
  }

  /** Resolves when an event arrives on `route`, after `ms`, or when `signal` aborts. */
  wait(route: string, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(route) ?? new Set<() => void>();
      this.waiters.set(route, set);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(route) === set) this.waiters.delete(route);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }
}
