import { describe, expect, it } from "vitest";
import { receivedEvent } from "../../src/pipeline/event.js";
import { backoffDelay } from "../../src/relay/relay-puller.js";
import { parseAck, parsePullAnswer, toWire } from "../../src/relay/relay-wire.js";

describe("relay wire format", () => {
  it("carries the body bytes as received, whatever they are", () => {
    const rawBody = Buffer.from([0x7b, 0x0a, 0xff, 0x00, 0x7d]);
    const event = receivedEvent({
      id: "e1",
      route: "r",
      receivedAt: "2026-12-01T00:00:00.000Z",
      method: "POST",
      path: "/hooks/r",
      query: { a: "1" },
      headers: { "x-hub-signature-256": "sha256=00" },
      rawBody,
    });
    const wire = parsePullAnswer(JSON.parse(JSON.stringify({ lease: "l", events: [toWire("7", event)] })));
    expect(Buffer.from(wire.events[0]?.body ?? "", "base64").equals(rawBody)).toBe(true);
    expect(wire.events[0]).toMatchObject({ ack: "7", id: "e1", path: "/hooks/r", query: { a: "1" } });
  });

  it("refuses an answer that is not a pull answer (a proxy's error page)", () => {
    expect(() => parsePullAnswer({ error: "bad gateway" })).toThrow(/not a pull answer/);
    expect(() => parsePullAnswer({ lease: "l", events: [{ ack: "1", id: "e" }] })).toThrow(/without the fields/);
    expect(() => parsePullAnswer({ lease: "l", events: [{ ...wireLike(), headers: { a: 1 } }] })).toThrow(/without the fields/);
  });

  it("says what is wrong with a malformed ack, and bounds its size", () => {
    expect(parseAck({ lease: "l", acks: ["1", "2"] }, 10)).toEqual({ lease: "l", acks: ["1", "2"] });
    expect(parseAck(null, 10)).toMatch(/JSON object/);
    expect(parseAck({ acks: [] }, 10)).toMatch(/lease/);
    expect(parseAck({ lease: "l", acks: [1] }, 10)).toMatch(/acks/);
    expect(parseAck({ lease: "l", acks: ["x".repeat(200)] }, 10)).toMatch(/acks/);
    expect(parseAck({ lease: "l", acks: ["1", "2", "3"] }, 2)).toMatch(/at most 2/);
  });

  it("backs off with jitter, doubling up to a cap", () => {
    expect(backoffDelay(1, () => 0)).toBe(250);
    expect(backoffDelay(1, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(2000);
    expect(backoffDelay(50, () => 1)).toBe(30_000);
    expect(backoffDelay(50, () => 0)).toBe(15_000);
  });
});

function wireLike() {
  return { ack: "1", id: "e", route: "r", receivedAt: "t", method: "POST", path: "/p", query: {}, headers: {}, body: "" };
}
