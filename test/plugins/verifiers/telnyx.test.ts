import { sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { telnyx } from "../../../src/plugins/verifiers/telnyx.js";
import { build, NOW, NOW_S, refusals, request, schemaAccepts, TIMED_REFUSALS } from "./helpers.js";
import { ed25519Pair } from "./keys.js";

const account = ed25519Pair();
const other = ed25519Pair();
const PUBLIC_KEY = account.raw.toString("base64");
const body = JSON.stringify({
  data: {
    event_type: "message.received",
    id: "b301ed3f-1490-491f-995f-6e64e69674d4",
    occurred_at: "2026-11-29T11:59:59.000+00:00",
    payload: { text: "hi" },
  },
  meta: { attempt: 1, delivered_to: "https://hooks.example.com/hooks/telnyx" },
});
// As Telnyx documents it: Ed25519 over `{timestamp}|{body}`, base64 in telnyx-signature-ed25519.
const req = (key = account.privateKey, ts = NOW_S) =>
  request({
    body,
    headers: {
      "telnyx-signature-ed25519": sign(null, Buffer.from(`${ts}|${body}`), key).toString("base64"),
      "telnyx-timestamp": String(ts),
    },
    receivedAt: NOW,
  });

describe("telnyx", () => {
  const verifier = build(telnyx, { public_key: PUBLIC_KEY });

  it("takes a base64 public key and no secret", () => {
    expect(schemaAccepts(telnyx, { public_key: PUBLIC_KEY })).toBe(true);
    expect(schemaAccepts(telnyx, { public_key: account.raw.toString("hex") })).toBe(false);
  });

  it("refuses what every scheme refuses, and takes data.id as the delivery id", async () => {
    const out = await refusals(verifier, req(), {
      header: "telnyx-signature-ed25519",
      wrongKey: req(other.privateKey),
      stale: req(account.privateKey, NOW_S - 301),
      garbage: "bm90IGEgc2lnbmF0dXJl",
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: "b301ed3f-1490-491f-995f-6e64e69674d4" }, ...TIMED_REFUSALS });
  });

  it("signs with --private-key what the documented check accepts", () => {
    const signed = verifier.sign(Buffer.from(body), NOW, {}, { privateKey: account.privateKey });
    const sig = Buffer.from(signed.headers["telnyx-signature-ed25519"] ?? "", "base64");
    expect(signed.headers["telnyx-timestamp"]).toBe(String(NOW_S));
    expect(verify(null, Buffer.from(`${NOW_S}|${body}`), account.publicKey, sig)).toBe(true);
    expect(() => verifier.sign(Buffer.from(body), NOW)).toThrow(/--private-key/);
  });
});
