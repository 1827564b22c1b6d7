import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { zoom } from "../../../src/plugins/verifiers/zoom.js";
import { build, NOW, NOW_S, refusals, request, rotation, roundTrip, TIMED_REFUSALS } from "./helpers.js";

const TOKEN = "x1rSKm3YRW2lHW4aXMa7Zg";
const body = JSON.stringify({
  event: "meeting.started",
  event_ts: 1795003200000,
  payload: { account_id: "AAAAAABBBB", object: { id: "1234567890", uuid: "4444AAAiAAAAAiAiAiiAii==", topic: "Standup" } },
});
// As Zoom's docs build it (https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events):
// `v0=` + hex HMAC-SHA256 of `v0:{x-zm-request-timestamp}:{body}` under the secret token.
const sig = (key: string, ts: number, payload = body) => `v0=${createHmac("sha256", key).update(`v0:${ts}:${payload}`).digest("hex")}`;
const req = (key: string, ts = NOW_S, payload = body) =>
  request({ body: payload, headers: { "x-zm-signature": sig(key, ts, payload), "x-zm-request-timestamp": String(ts) }, receivedAt: NOW });

describe("zoom", () => {
  const verifier = build(zoom, { secret: TOKEN });

  it("refuses what every scheme refuses", async () => {
    const out = await refusals(verifier, req(TOKEN), {
      header: "x-zm-signature",
      wrongKey: req("another-secret-token"),
      stale: req(TOKEN, NOW_S - 301),
      garbage: "v0=xyz",
    });
    expect(out).toEqual({ good: { ok: true }, ...TIMED_REFUSALS });
  });

  it("refuses a request without its timestamp", () => {
    const r = req(TOKEN);
    const { "x-zm-request-timestamp": _t, ...headers } = r.headers;
    expect(verifier.verify({ ...r, headers })).toEqual({ ok: false, reason: "missing_signature" });
  });

  it("accepts old and new secret token while rotating, not a third", async () => {
    expect(await rotation(zoom, {}, (s) => req(s))).toEqual([true, true, false]);
  });

  it("signs as Zoom does", () => {
    expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({
      "x-zm-request-timestamp": String(NOW_S),
      "x-zm-signature": sig(TOKEN, NOW_S),
    });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  it("answers endpoint.url_validation with the plain token and its HMAC, and nothing else", () => {
    // The example in Zoom's docs: plainToken qgg8vlvZRS6UYooatFL8Aw, hashed with the secret token.
    const validation = { payload: { plainToken: "qgg8vlvZRS6UYooatFL8Aw" }, event_ts: 1654503849680, event: "endpoint.url_validation" };
    const text = JSON.stringify(validation);
    expect(verifier.verify(req(TOKEN, NOW_S, text))).toEqual({ ok: true });
    expect(verifier.handshake?.({}, validation)).toEqual({
      status: 200,
      body: {
        plainToken: "qgg8vlvZRS6UYooatFL8Aw",
        encryptedToken: createHmac("sha256", TOKEN).update("qgg8vlvZRS6UYooatFL8Aw").digest("hex"),
      },
    });
    expect(verifier.handshake?.({}, JSON.parse(body))).toBeUndefined();
    expect(verifier.handshake?.({}, { event: "endpoint.url_validation", payload: {} })).toBeUndefined();
  });
});
