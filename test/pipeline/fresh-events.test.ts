import { describe, expect, it } from "vitest";
import { type ReceivedEvent, receivedEvent } from "../../src/pipeline/event.js";
import { FreshEvents } from "../../src/pipeline/fresh-events.js";

const event = (id: string, bytes = 2): ReceivedEvent =>
  receivedEvent({
    id,
    route: "r",
    receivedAt: new Date(0).toISOString(),
    method: "POST",
    path: "/",
    query: {},
    headers: {},
    rawBody: Buffer.alloc(bytes, " "),
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

  it("holds body bytes up to its bound: large bodies are left to the store, and the count goes down as they are taken", () => {
    const fresh = new FreshEvents(256, 1_000, 1_600);
    fresh.add(event("big", 101), 1, 0);
    expect(fresh.take("big")).toBeUndefined();
    fresh.add(event("a", 100), 1, 0);
    for (let i = 0; i < 20; i++) fresh.add(event(`n${i}`, 100), 1, 0);
    expect(fresh.size).toBe(16);
    expect(fresh.heldBytes).toBe(1_600);
    expect(fresh.take("a")?.id).toBe("a");
    expect(fresh.heldBytes).toBe(1_500);
    fresh.add(event("late", 100), 1, 2_000);
    expect(fresh.size).toBe(16);
    fresh.add(event("later", 100), 1, 2_000);
    expect(fresh.size).toBe(2);
    expect(fresh.heldBytes).toBe(200);
  });
});
