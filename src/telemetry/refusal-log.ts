import type { Logger } from "pino";

/** How long one kind of refusal is summarised rather than logged line by line. */
export const REFUSAL_WINDOW_MS = 60_000;

type Level = "info" | "warn";

interface Window {
  level: Level;
  fields: Record<string, unknown>;
  msg: string;
  more: number;
  timer: NodeJS.Timeout;
}

/**
 * Log lines for requests the ingress refuses (401, 400, 404, 405, 413 …), so a user sees why
 * their webhook did nothing, without letting a flood of them fill the disk: per key (route +
 * reason) the first is logged at once, the rest of the minute are counted and logged as one
 * summary line ("… 41 more in the last minute"), and so on while they keep coming.
 * Also holds the warnings said once per key for the daemon's life.
 */
export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private readonly said = new Set<string>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly windowMs = REFUSAL_WINDOW_MS,
  ) {}

  note(key: string, level: Level, fields: Record<string, unknown>, msg: string): void {
    const open = this.windows.get(key);
    if (open) {
      open.more++;
      return;
    }
    this.log[level](fields, msg);
    if (!this.closed) this.openWindow(key, level, fields, msg);
  }

  /** Logs a warning the first time a key is seen, never again. */
  warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.log.warn(fields, msg);
  }

  /** Logs what is still counted, and stops the timers (the daemon is stopping). */
  close(): void {
    this.closed = true;
    for (const [key, w] of this.windows) {
      clearTimeout(w.timer);
      this.summarise(w);
      this.windows.delete(key);
    }
  }

  private openWindow(key: string, level: Level, fields: Record<string, unknown>, msg: string): void {
    const timer = setTimeout(() => {
      const w = this.windows.get(key);
      this.windows.delete(key);
      // Still coming: one summary line, then another window. Quiet: the next one is logged at once.
      if (w && w.more > 0) {
        this.summarise(w);
        if (!this.closed) this.openWindow(key, level, fields, msg);
      }
    }, this.windowMs);
    // A refusal to summarise must not keep the process alive.
    timer.unref();
    this.windows.set(key, { level, fields, msg, more: 0, timer });
  }

  private summarise(w: Window): void {
    if (w.more === 0) return;
    const period = this.windowMs === REFUSAL_WINDOW_MS ? "the last minute" : `the last ${this.windowMs} ms`;
    this.log[w.level]({ ...w.fields, more: w.more }, `${w.msg}: ${w.more} more in ${period}`);
  }
}
