import { EventWebhook } from "@sendgrid/eventwebhook";
// SendGrid's verifier is built on starkbank-ecdsa, which also signs: the provider's own code, both ways.
import { Ecdsa, PrivateKey } from "starkbank-ecdsa";
import { describe, expect, it } from "vitest";
import { sendgrid } from "../../../src/plugins/verifiers/sendgrid.js";
import { build, fromSigned, refusals, request, schemaAccepts, TIMED_REFUSALS } from "./helpers.js";
import { p256Pair } from "./keys.js";

// The test vector in @sendgrid/eventwebhook's own spec (note the trailing CRLF SendGrid sends).
const PUBLIC_KEY =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
const SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
const TIMESTAMP = "1600112502";
const PAYLOAD = `${JSON.stringify([
  {
    email: "hello@world.com",
    event: "dropped",
    reason: "Bounced Address",
    sg_event_id: "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    sg_message_id: "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    timestamp: 1600112492,
  },
])}\r\n`;
const AT = Number(TIMESTAMP) * 1000 + 2_000;
const req = (signature: string, ts = TIMESTAMP, body = PAYLOAD) =>
  request({
    body,
    headers: { "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": ts },
    receivedAt: AT,
  });

describe("sendgrid", () => {
  const verifier = build(sendgrid, { public_key: PUBLIC_KEY });

  it("takes a base64 or PEM public key and no secret", () => {
    expect(schemaAccepts(sendgrid, { public_key: PUBLIC_KEY })).toBe(true);
    const pem = `-----BEGIN PUBLIC KEY-----\n${PUBLIC_KEY.slice(0, 64)}\n${PUBLIC_KEY.slice(64)}\n-----END PUBLIC KEY-----\n`;
    expect(build(sendgrid, { public_key: pem }).verify(req(SIGNATURE))).toEqual({ ok: true });
    expect(() => build(sendgrid, { public_key: "bm90IGEga2V5" })).toThrow(/P-256/);
  });

  it("accepts SendGrid's own test vector, as its library does", () => {
    const sdk = new EventWebhook();
    expect(sdk.verifySignature(sdk.convertPublicKeyToECDSA(PUBLIC_KEY), PAYLOAD, SIGNATURE, TIMESTAMP)).toBe(true);
    expect(verifier.verify(req(SIGNATURE))).toEqual({ ok: true });
  });

  it("refuses what every scheme refuses", async () => {
    const pair = p256Pair();
    const theirs = build(sendgrid, { public_key: pair.spki });
    const wrongKey = fromSigned(theirs.sign(Buffer.from(PAYLOAD), AT, {}, { privateKey: pair.privateKey }), AT);
    const out = await refusals(verifier, req(SIGNATURE), {
      header: "X-Twilio-Email-Event-Webhook-Signature",
      wrongKey,
      stale: { ...req(SIGNATURE), receivedAt: Number(TIMESTAMP) * 1000 + 301_000 },
      garbage: "MEUCIQ==",
    });
    expect(out).toEqual({ good: { ok: true }, ...TIMED_REFUSALS });
  });

  it("agrees with SendGrid's library both ways on a key of our own", () => {
    const pair = p256Pair();
    const ours = build(sendgrid, { public_key: pair.spki });
    const sdk = new EventWebhook();
    const sdkKey = sdk.convertPublicKeyToECDSA(pair.spki);
    const now = Number(TIMESTAMP) * 1000;
    // What sign --private-key makes passes SendGrid's verifier…
    const signed = ours.sign(Buffer.from(PAYLOAD), now, {}, { privateKey: pair.privateKey });
    const sig = signed.headers["X-Twilio-Email-Event-Webhook-Signature"] ?? "";
    expect(sdk.verifySignature(sdkKey, PAYLOAD, sig, TIMESTAMP)).toBe(true);
    expect(sdk.verifySignature(sdkKey, `${PAYLOAD} `, sig, TIMESTAMP)).toBe(false);
    // …and a signature made by SendGrid's signing library passes ours.
    const starkKey = PrivateKey.fromPem(pair.privateKey.export({ format: "pem", type: "sec1" }).toString());
    const theirs = Ecdsa.sign(`${TIMESTAMP}${PAYLOAD}`, starkKey).toBase64();
    expect(ours.verify(req(theirs))).toEqual({ ok: true });
    expect(ours.verify(req(theirs, String(Number(TIMESTAMP) + 1)))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(() => ours.sign(Buffer.from(PAYLOAD), now)).toThrow(/--private-key/);
  });
});
