import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RefusalLog } from "../../src/telemetry/refusal-log.js";

/** The rate limit on refusal lines: first at once, the rest of the minute as one summary line. */

function capture() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

describe("RefusalLog", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const flush = () => new Promise((r) => setImmediate(r));

  it("logs the first refusal at once, then one summary a minute while they keep coming, then the next at once", async () => {
    const { log, lines } = capture();
    const refusals = new RefusalLog(log);
    const fields = { route: "demo", status: 413, reason: "body_too_large" };
    for (let i = 0; i < 1000; i++) refusals.note("demo 413", "info", fields, "request refused: too large");
    await vi.advanceTimersByTimeAsync(60_000);
    for (let i = 0; i < 5; i++) refusals.note("demo 413", "info", fields, "request refused: too large");
    await vi.advanceTimersByTimeAsync(60_000);
    // A quiet minute closes the window.
    await vi.advanceTimersByTimeAsync(60_000);
    refusals.note("demo 413", "info", fields, "request refused: too large");
    await flush();
    expect(lines.map((l) => [l.msg, l.more])).toEqual([
      ["request refused: too large", undefined],
      ["request refused: too large: 999 more in the last minute", 999],
      ["request refused: too large: 5 more in the last minute", 5],
      ["request refused: too large", undefined],
    ]);
    expect(lines[1]).toMatchObject({ route: "demo", status: 413, reason: "body_too_large", level: 30 });
    refusals.close();
  });

  it("keeps routes and reasons apart, says a warning once, and reports what is counted when closed", async () => {
    const { log, lines } = capture();
    const refusals = new RefusalLog(log);
    refusals.note("a 401", "warn", { route: "a" }, "verification failed");
    refusals.note("b 401", "warn", { route: "b" }, "verification failed");
    refusals.note("a 401", "warn", { route: "a" }, "verification failed");
    refusals.warnOnce("a form", { route: "a" }, "form body is JSON");
    refusals.warnOnce("a form", { route: "a" }, "form body is JSON");
    refusals.close();
    await flush();
    expect(lines.map((l) => [l.route, l.msg])).toEqual([
      ["a", "verification failed"],
      ["b", "verification failed"],
      ["a", "form body is JSON"],
      ["a", "verification failed: 1 more in the last minute"],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
