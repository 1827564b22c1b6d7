import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { linear } from "../../../src/plugins/verifiers/linear.js";
import { build, malformed, mismatch, missing, NOW, outOfTolerance, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

// An Issue create payload as Linear documents it (https://linear.app/developers/webhooks#data-change-events-payload).
const payload = (webhookTimestamp: number | undefined) =>
  JSON.stringify({
    action: "create",
    type: "Issue",
    createdAt: "2026-11-29T11:59:59.000Z",
    organizationId: "0f2a6b5c-0f9e-4d8c-9b0a-2e6f6a1d3c4b",
    url: "https://linear.app/acme/issue/ENG-123/checkout-fails",
    data: { id: "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", identifier: "ENG-123", title: "Checkout fails", priority: 2 },
    webhookTimestamp,
    webhookId: "000042e3-d123-4980-b49f-8e140eef9329",
  });
const body = payload(NOW);
const DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72";

/** Linear's documented algorithm, computed here independently of our helpers. */
const linearSignature = (secret: string, text: string) => createHmac("sha256", secret).update(text).digest("hex");
const req = (headers: Record<string, string>, text = body, receivedAt = NOW) =>
  request({ body: text, headers: { "Linear-Event": "Issue", ...headers }, receivedAt });

describe("linear", () => {
  const verifier = build(linear);
  const good = linearSignature(SECRET, body);

  it.each([
    { name: "valid", req: req({ "Linear-Signature": good, "Linear-Delivery": DELIVERY }), want: { ok: true, deliveryId: DELIVERY } },
    { name: "no delivery id", req: req({ "Linear-Signature": good }), want: { ok: true } },
    { name: "tampered body", req: req({ "Linear-Signature": good }, tamper(body)), want: mismatch },
    { name: "wrong key", req: req({ "Linear-Signature": linearSignature("lin_wh_other", body) }), want: mismatch },
    { name: "missing header", req: req({ "Linear-Delivery": DELIVERY }), want: missing },
    { name: "sha256= prefix", req: req({ "Linear-Signature": `sha256=${good}` }), want: malformed },
    { name: "wrong length", req: req({ "Linear-Signature": good.slice(0, 62) }), want: malformed },
    { name: "not hex", req: req({ "Linear-Signature": "Z".repeat(64) }), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it.each([
    { name: "5 min old", at: NOW + 300_000, want: { ok: true } },
    { name: "5 min and 1 ms old", at: NOW + 300_001, want: outOfTolerance },
    { name: "5 min ahead", at: NOW - 300_000, want: { ok: true } },
    { name: "5 min and 1 ms ahead", at: NOW - 300_001, want: outOfTolerance },
  ])("webhookTimestamp, default tolerance: $name", ({ at, want }) => {
    expect(verifier.verify(req({ "Linear-Signature": good }, body, at))).toEqual(want);
  });

  it("takes a custom tolerance (Linear itself suggests one minute)", () => {
    const strict = build(linear, { tolerance: "1m" });
    expect(strict.verify(req({ "Linear-Signature": good }, body, NOW + 60_000)).ok).toBe(true);
    expect(strict.verify(req({ "Linear-Signature": good }, body, NOW + 60_001))).toEqual(outOfTolerance);
  });

  it("skips the timestamp check when the body has none", () => {
    const old = payload(undefined);
    expect(verifier.verify(req({ "Linear-Signature": linearSignature(SECRET, old) }, old, NOW + 86_400_000))).toEqual({ ok: true });
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(linear, {}, (s) => req({ "Linear-Signature": linearSignature(s, body) }))).toEqual([true, true, false]);
  });

  it("signs what it accepts, refreshing a saved payload's webhookTimestamp", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    const later = NOW + 86_400_000;
    const signed = verifier.sign(Buffer.from(body), later);
    expect(JSON.parse(signed.body.toString()).webhookTimestamp).toBe(later);
    expect(roundTrip(verifier, body, later)).toEqual({ ok: true });
    expect(signed.headers["Linear-Signature"]).toBe(linearSignature(SECRET, signed.body.toString()));
  });
});
