import { createHmac } from "node:crypto";
import { Paddle } from "@paddle/paddle-node-sdk";
import { describe, expect, it } from "vitest";
import { paddle } from "../../../src/plugins/verifiers/paddle.js";
import { build, fromSigned, NOW, NOW_S, refusals, request, rotation, TIMED_REFUSALS } from "./helpers.js";

const KEY = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI";
const body = JSON.stringify({
  event_id: "evt_01hv8x2acma2gz3he5xqqs6a3k",
  event_type: "transaction.completed",
  occurred_at: "2026-11-29T12:00:00.000000Z",
  notification_id: "ntf_01hv8x2af2xtph4pc2ytgm6d63",
  data: { id: "txn_01hv8wptq8987qeep44cyrewp9", status: "completed" },
});
// Built as Paddle's docs describe it, independently of the code under test:
// https://developer.paddle.com/webhooks/signature-verification
const header = (key: string, ts: number, payload = body) =>
  `ts=${ts};h1=${createHmac("sha256", key).update(`${ts}:${payload}`).digest("hex")}`;
const req = (h: string, at = NOW) => request({ body, headers: { "Paddle-Signature": h }, receivedAt: at });

// Constructing the client sets up its Node crypto; it makes no request.
const sdk = new Paddle("pdl_sdbx_apikey_01hv8x2acma2gz3he5xqqs6a3k");

describe("paddle", () => {
  const verifier = build(paddle, { secret: KEY });

  it("refuses what every scheme refuses", async () => {
    const out = await refusals(verifier, req(header(KEY, NOW_S)), {
      header: "Paddle-Signature",
      wrongKey: req(header("pdl_ntfset_another", NOW_S)),
      stale: req(header(KEY, NOW_S - 301)),
      garbage: "ts=1;h1=zz",
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: "evt_01hv8x2acma2gz3he5xqqs6a3k" }, ...TIMED_REFUSALS });
  });

  it("refuses a header without its timestamp or its signature", () => {
    const sig = header(KEY, NOW_S).split(";")[1] ?? "";
    expect(verifier.verify(req(sig))).toEqual({ ok: false, reason: "malformed_signature" });
    expect(verifier.verify(req(`ts=${NOW_S}`))).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(paddle, {}, (s) => req(header(s, NOW_S)))).toEqual([true, true, false]);
  });

  it("signs what Paddle's own SDK accepts, and what it signs is what Paddle documents", async () => {
    // The SDK allows five seconds of age against the real clock, so this signs now.
    const now = Date.now();
    const signed = verifier.sign(Buffer.from(body), now);
    const sent = signed.headers["Paddle-Signature"] ?? "";
    expect(sent).toBe(header(KEY, Math.floor(now / 1000)));
    expect(await sdk.webhooks.isSignatureValid(body, KEY, sent)).toBe(true);
    expect(verifier.verify(fromSigned(signed, now))).toEqual({ ok: true, deliveryId: "evt_01hv8x2acma2gz3he5xqqs6a3k" });
    expect(await sdk.webhooks.isSignatureValid(body, "pdl_ntfset_another", sent)).toBe(false);
  });
});
