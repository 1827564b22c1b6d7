import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { twitch } from "../../../src/plugins/verifiers/twitch.js";
import { build, NOW, refusals, request, rotation, TIMED_REFUSALS } from "./helpers.js";

const SECRET = "s3cRe7-for-eventsub-0123456789";
const ID = "befa7b53-d79d-478f-86b9-120f112b044e";
const TS = "2026-11-29T11:59:58.123456789Z";
const body = JSON.stringify({
  subscription: { id: "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", type: "channel.follow", version: "2", status: "enabled" },
  event: { user_id: "1234", user_login: "cool_user", broadcaster_user_id: "1337", followed_at: "2026-11-29T11:59:58.09Z" },
});
// As Twitch's docs build it (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message):
// `sha256=` + hex HMAC-SHA256 of message id + timestamp + raw body.
const sig = (key: string, id: string, ts: string, payload: string) =>
  `sha256=${createHmac("sha256", key)
    .update(id + ts + payload)
    .digest("hex")}`;
const req = (key: string, ts = TS, payload = body, type = "notification") =>
  request({
    body: payload,
    headers: {
      "Twitch-Eventsub-Message-Id": ID,
      "Twitch-Eventsub-Message-Timestamp": ts,
      "Twitch-Eventsub-Message-Signature": sig(key, ID, ts, payload),
      "Twitch-Eventsub-Message-Type": type,
    },
    receivedAt: NOW,
  });

describe("twitch", () => {
  const verifier = build(twitch, { secret: SECRET });

  it("refuses what every scheme refuses, and takes the message id as the delivery id", async () => {
    const out = await refusals(verifier, req(SECRET), {
      header: "Twitch-Eventsub-Message-Signature",
      wrongKey: req("another-secret-0123456789"),
      stale: req(SECRET, "2026-11-29T11:54:59.999Z"),
      garbage: "sha256=nothex",
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: ID }, ...TIMED_REFUSALS });
  });

  it("refuses a changed message id or a timestamp that is not RFC 3339", () => {
    const r = req(SECRET);
    expect(verifier.verify({ ...r, headers: { ...r.headers, "twitch-eventsub-message-id": "another" } })).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
    expect(verifier.verify(req(SECRET, String(NOW / 1000)))).toEqual({ ok: false, reason: "malformed_signature" });
    const { "twitch-eventsub-message-id": _id, ...noId } = r.headers;
    expect(verifier.verify({ ...r, headers: noId })).toEqual({ ok: false, reason: "missing_signature" });
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(twitch, {}, (s) => req(s))).toEqual([true, true, false]);
  });

  it("signs as Twitch does, keeping a message id given with sign -H", () => {
    const signed = verifier.sign(Buffer.from(body), NOW, { "twitch-eventsub-message-id": ID });
    const ts = new Date(NOW).toISOString();
    expect(signed.headers).toEqual({
      "Twitch-Eventsub-Message-Id": ID,
      "Twitch-Eventsub-Message-Timestamp": ts,
      "Twitch-Eventsub-Message-Signature": sig(SECRET, ID, ts, body),
    });
    expect(verifier.verify(request({ body, headers: signed.headers, receivedAt: NOW }))).toEqual({ ok: true, deliveryId: ID });
  });

  it("answers webhook_callback_verification with the bare challenge, and nothing else", () => {
    const challenge = {
      challenge: "pogchamp-kappa-360noscope-vohiyo",
      subscription: { id: "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", status: "webhook_callback_verification_pending", type: "channel.follow" },
    };
    const text = JSON.stringify(challenge);
    const r = req(SECRET, TS, text, "webhook_callback_verification");
    expect(verifier.verify(r).ok).toBe(true);
    expect(verifier.handshake?.(r.headers, challenge)).toEqual({ status: 200, body: "pogchamp-kappa-360noscope-vohiyo" });
    expect(verifier.handshake?.(req(SECRET).headers, challenge)).toBeUndefined();
  });
});
