import { describe, expect, it } from "vitest";
import { compileExpression } from "../../src/pipeline/expression.js";
import { inRange } from "../../src/pipeline/in-range.js";

describe("$inRange", () => {
  it.each([
    { address: "10.1.2.3", ranges: ["10.0.0.0/8"], want: true },
    { address: "11.1.2.3", ranges: ["10.0.0.0/8"], want: false },
    { address: "192.168.1.1", ranges: "192.168.1.1", want: true },
    { address: "192.168.1.2", ranges: ["192.168.1.1"], want: false },
    { address: "::ffff:127.0.0.1", ranges: ["127.0.0.0/8"], want: true },
    { address: "::1", ranges: ["127.0.0.0/8", "::1/128"], want: true },
    { address: "fd00::5", ranges: ["fd00::/8"], want: true },
    { address: undefined, ranges: ["0.0.0.0/0"], want: false },
    { address: "not an address", ranges: ["0.0.0.0/0"], want: false },
  ])("$address in $ranges: $want", ({ address, ranges, want }) => {
    expect(inRange(address, ranges)).toBe(want);
  });

  it("is a JSONata function over the event, and a bad range is an evaluation error", async () => {
    const filter = compileExpression('$inRange(client, ["10.0.0.0/8"]) or body.force = true', "routes[0].filter");
    expect(await filter.evaluate({ client: "10.9.9.9", body: {} })).toBe(true);
    expect(await filter.evaluate({ client: "8.8.8.8", body: { force: true } })).toBe(true);
    expect(await filter.evaluate({ client: "8.8.8.8", body: {} })).toBe(false);
    const bad = compileExpression('$inRange(client, "10.0.0.0/33")', "routes[0].filter");
    await expect(bad.evaluate({ client: "10.0.0.1" })).rejects.toThrow(/prefix length/);
  });
});
