import { describe, expect, it } from "vitest";
import { newEventId } from "../../src/pipeline/event-id.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("event ids", () => {
  it("are version 7 UUIDs carrying the time they were made", () => {
    const at = Date.UTC(2026, 10, 29, 12, 0, 0, 123);
    const id = newEventId(at);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(at);
  });

  it("sort by time, and never repeat", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newEventId(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect((ids[i - 1] as string) < (ids[i] as string)).toBe(true);
    for (const id of ids) expect(id).toMatch(UUID_V7);
  });
});
