import { describe, expect, it } from "vitest";
import type { WebhookEvent } from "../../src/pipeline/event.js";
import { FreshEvents } from "../../src/pipeline/fresh-events.js";

const event = (id: string): WebhookEvent => ({
  id,
  route: "r",
  receivedAt: new Date(0).toISOString(),
  method: "POST",
  path: "/",
  query: {},
  headers: {},
  body: {},
});

describe("FreshEvents", () => {
  it("hands an event to each of its targets' claims, then forgets it", () => {
    const fresh = new FreshEvents();
    const e = event("a");
    fresh.add(e, 2, 0);
    expect(fresh.take("a")).toBe(e);
    expect(fresh.take("a")).toBe(e);
    expect(fresh.take("a")).toBeUndefined();
    expect(fresh.size).toBe(0);
  });

  it("when full keeps the oldest (claimed first) and makes room only from entries past their age", () => {
    const fresh = new FreshEvents(2, 1_000);
    fresh.add(event("a"), 1, 0);
    fresh.add(event("b"), 1, 500);
    fresh.add(event("c"), 1, 900);
    expect(fresh.take("c")).toBeUndefined();
    expect(fresh.size).toBe(2);
    fresh.add(event("d"), 1, 1_200);
    expect(fresh.take("a")).toBeUndefined();
    expect(fresh.take("b")?.id).toBe("b");
    expect(fresh.take("d")?.id).toBe("d");
  });
});
