import { describe, expect, it } from "vitest";
import { none } from "../../../src/plugins/verifiers/none.js";
import { build, request, roundTrip, schemaAccepts } from "./helpers.js";

describe("none", () => {
  const verifier = build(none);

  it("accepts anything, with no dedupe id", () => {
    expect(verifier.verify(request({ body: "anything" }))).toEqual({ ok: true });
    expect(verifier.verify(request({ body: Buffer.alloc(0), headers: { "X-Hub-Signature-256": "sha256=00" } }))).toEqual({ ok: true });
  });

  it("signs nothing", () => {
    expect(verifier.sign(Buffer.from("x"), 0)).toEqual({ headers: {}, body: Buffer.from("x") });
    expect(roundTrip(verifier, "x")).toEqual({ ok: true });
  });

  it("takes no secret and no other option", () => {
    expect(none.needsSecret).toBe(false);
    expect(schemaAccepts(none, {})).toBe(true);
    expect(schemaAccepts(none, { secret: "x" })).toBe(false);
  });
});
