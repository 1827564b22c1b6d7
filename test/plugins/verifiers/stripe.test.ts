import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { stripe } from "../../../src/plugins/verifiers/stripe.js";
import {
  build,
  malformed,
  mismatch,
  missing,
  NOW,
  NOW_S,
  notJson,
  outOfTolerance,
  request,
  rotation,
  roundTrip,
  tamper,
} from "./helpers.js";

const SECRET = "whsec_8f2a1c4e6b9d0f3a5c7e9b1d3f5a7c9e";
const sdk = new Stripe("sk_test_x");
const EVENT_ID = "evt_1NG8Du2eZvKYlo2CUI79vXWy";
// A Stripe event as its API documents it (https://docs.stripe.com/api/events/object).
const body = JSON.stringify(
  {
    id: EVENT_ID,
    object: "event",
    api_version: "2024-06-20",
    created: 1686089970,
    data: { object: { id: "seti_1NG8Du2eZvKYlo2C9XMqbR0x", object: "setup_intent", status: "requires_confirmation" } },
    livemode: false,
    pending_webhooks: 0,
    request: { id: null, idempotency_key: null },
    type: "setup_intent.created",
  },
  null,
  2,
);

/** Stripe's own SDK writes the header. */
const header = (payload = body, secret = SECRET, timestamp = NOW_S) =>
  sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp });
const req = (stripeSignature: string | undefined, payload = body, receivedAt = NOW) =>
  request({ body: payload, headers: { "Stripe-Signature": stripeSignature }, receivedAt });

describe("stripe", () => {
  const verifier = build(stripe, { secret: SECRET });
  const good = header();
  const v1 = good.split("v1=")[1] ?? "";

  it.each([
    { name: "valid", req: req(good), want: { ok: true, deliveryId: EVENT_ID } },
    { name: "tampered body", req: req(good, tamper(body)), want: mismatch },
    { name: "wrong key", req: req(header(body, "whsec_another")), want: mismatch },
    { name: "missing header", req: req(undefined), want: missing },
    {
      name: "v1 of a second, unknown secret first",
      req: req(`t=${NOW_S},v1=${"ab".repeat(32)},v1=${v1}`),
      want: { ok: true, deliveryId: EVENT_ID },
    },
    { name: "spaces after commas", req: req(`t=${NOW_S}, v1=${v1}`), want: { ok: true, deliveryId: EVENT_ID } },
    { name: "only v0 (never trusted)", req: req(`t=${NOW_S},v0=${v1}`), want: malformed },
    { name: "no timestamp", req: req(`v1=${v1}`), want: malformed },
    { name: "timestamp not a number", req: req(`t=soon,v1=${v1}`), want: malformed },
    { name: "v1 wrong length", req: req(`t=${NOW_S},v1=${v1.slice(2)}`), want: malformed },
    { name: "v1 not hex", req: req(`t=${NOW_S},v1=${"q".repeat(64)}`), want: malformed },
    { name: "not a header at all", req: req("garbage"), want: malformed },
    { name: "signed timestamp changed", req: req(good.replace(`t=${NOW_S}`, `t=${NOW_S + 1}`)), want: mismatch },
    { name: "body without id", req: req(header("{}"), "{}"), want: { ok: true } },
    { name: "signed but not JSON", req: req(header("not json"), "not json"), want: notJson },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it.each([
    { name: "5 min old", at: NOW + 300_000, ok: true },
    { name: "5 min and 1 ms old", at: NOW + 300_001, ok: false },
    { name: "5 min ahead", at: NOW - 300_000, ok: true },
    { name: "5 min and 1 ms ahead", at: NOW - 300_001, ok: false },
  ])("default tolerance: $name", ({ at, ok }) => {
    expect(verifier.verify(req(good, body, at))).toEqual(ok ? { ok: true, deliveryId: EVENT_ID } : outOfTolerance);
  });

  it("takes a custom tolerance", () => {
    const strict = build(stripe, { secret: SECRET, tolerance: "30s" });
    expect(strict.verify(req(good, body, NOW + 30_000)).ok).toBe(true);
    expect(strict.verify(req(good, body, NOW + 30_001))).toEqual(outOfTolerance);
    expect(strict.verify(req(good, body, NOW - 30_001))).toEqual(outOfTolerance);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    const results = await rotation(stripe, {}, (s) => req(header(body, s)), ["whsec_new", "whsec_old", "whsec_third"]);
    expect(results).toEqual([true, true, false]);
  });

  it("signs what it and Stripe's SDK accept", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true, deliveryId: EVENT_ID });
    const signed = verifier.sign(Buffer.from(body), NOW);
    const stripeHeader = signed.headers["Stripe-Signature"] ?? "";
    expect(sdk.webhooks.signature?.verifyHeader(body, stripeHeader, SECRET, 300, undefined, NOW)).toBe(true);
    expect(stripeHeader).toBe(good);
  });
});
