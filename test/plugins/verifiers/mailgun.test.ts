import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mailgun } from "../../../src/plugins/verifiers/mailgun.js";
import { build, fromSigned, NOW, NOW_S, request, rotation } from "./helpers.js";

const KEY = "key-4a2b8e5d6c1f0a9b8c7d6e5f4a3b2c1d";
const TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123";
// As Mailgun's docs build it: hex HMAC-SHA256 of timestamp + token under the webhook signing key.
const sig = (key: string, ts: number | string, token = TOKEN) => createHmac("sha256", key).update(`${ts}${token}`).digest("hex");
const eventData = { id: "CPgfbmQMTCKtHW6uIWtuVe", event: "delivered", recipient: "alice@example.com", timestamp: 1795003199.1 };
const json = (signature: Record<string, unknown>) => JSON.stringify({ signature, "event-data": eventData });
const req = (body: string, contentType = "application/json") =>
  request({ body, headers: { "Content-Type": contentType }, receivedAt: NOW });
const good = (key = KEY, ts = NOW_S) => req(json({ token: TOKEN, timestamp: String(ts), signature: sig(key, ts) }));

describe("mailgun", () => {
  const verifier = build(mailgun, { secret: KEY });
  const accepted = { ok: true, deliveryId: TOKEN };

  it("accepts a JSON webhook and takes its token as the delivery id", () => {
    expect(verifier.verify(good())).toEqual(accepted);
  });

  it("refuses a changed signature block, a wrong key, a missing or malformed signature, a stale timestamp", () => {
    const wrongToken = json({ token: `${TOKEN.slice(0, -1)}4`, timestamp: String(NOW_S), signature: sig(KEY, NOW_S) });
    expect(verifier.verify(req(wrongToken))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(verifier.verify(good("key-another"))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(verifier.verify(req(JSON.stringify({ "event-data": eventData })))).toEqual({ ok: false, reason: "missing_signature" });
    expect(verifier.verify(req(json({ token: TOKEN, timestamp: String(NOW_S) })))).toEqual({ ok: false, reason: "missing_signature" });
    expect(verifier.verify(req(json({ token: TOKEN, timestamp: String(NOW_S), signature: "zz" })))).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
    expect(verifier.verify(req(json({ token: TOKEN, timestamp: "yesterday", signature: sig(KEY, "yesterday") })))).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
    expect(verifier.verify(good(KEY, NOW_S - 301))).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
    expect(verifier.verify(req("not json"))).toEqual({ ok: false, reason: "missing_signature" });
  });

  it("accepts a subaccount's parent-signature", () => {
    const body = json({
      token: TOKEN,
      timestamp: String(NOW_S),
      signature: sig("key-subaccount", NOW_S),
      "parent-signature": sig(KEY, NOW_S),
    });
    expect(verifier.verify(req(body))).toEqual(accepted);
  });

  it("accepts legacy form-encoded webhooks", () => {
    const form = new URLSearchParams({
      event: "delivered",
      recipient: "alice@example.com",
      timestamp: String(NOW_S),
      token: TOKEN,
      signature: sig(KEY, NOW_S),
    });
    expect(verifier.verify(req(form.toString(), "application/x-www-form-urlencoded"))).toEqual(accepted);
    form.set("token", "another-token");
    expect(verifier.verify(req(form.toString(), "application/x-www-form-urlencoded"))).toEqual({ ok: false, reason: "signature_mismatch" });
  });

  it("accepts old and new signing key while rotating, not a third", async () => {
    expect(await rotation(mailgun, {}, (s) => good(s))).toEqual([true, true, false]);
  });

  it("signs by adding the signature block to the event", () => {
    const signed = verifier.sign(Buffer.from(JSON.stringify({ "event-data": eventData })), NOW);
    const body = JSON.parse(signed.body.toString("utf8"));
    expect(body["event-data"]).toEqual(eventData);
    expect(body.signature.timestamp).toBe(String(NOW_S));
    expect(body.signature.signature).toBe(sig(KEY, NOW_S, body.signature.token));
    expect(verifier.verify(fromSigned(signed))).toEqual({ ok: true, deliveryId: body.signature.token });
    expect(() => verifier.sign(Buffer.from("[1]"), NOW)).toThrow(/JSON object/);
  });
});
