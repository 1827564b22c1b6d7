import { sign } from "node:crypto";
import { verifyKey } from "discord-interactions";
import { describe, expect, it } from "vitest";
import { discord } from "../../../src/plugins/verifiers/discord.js";
import { build, fromSigned, NOW, NOW_S, refusals, request, schemaAccepts, TIMED_REFUSALS } from "./helpers.js";
import { ed25519Pair } from "./keys.js";

const app = ed25519Pair();
const other = ed25519Pair();
const PUBLIC_KEY = app.raw.toString("hex");
const body = JSON.stringify({
  id: "1234567890123456789",
  application_id: "98765",
  type: 2,
  data: { name: "deploy" },
  token: "tok",
  version: 1,
});
// As Discord's docs describe it: Ed25519 over timestamp + raw body, hex in X-Signature-Ed25519.
const req = (key = app.privateKey, ts = NOW_S, payload = body) =>
  request({
    body: payload,
    headers: {
      "X-Signature-Ed25519": sign(null, Buffer.from(`${ts}${payload}`), key).toString("hex"),
      "X-Signature-Timestamp": String(ts),
    },
    receivedAt: NOW,
  });

describe("discord", () => {
  const verifier = build(discord, { public_key: PUBLIC_KEY });

  it("takes a hex public key and no secret", () => {
    expect(schemaAccepts(discord, { public_key: PUBLIC_KEY })).toBe(true);
    expect(schemaAccepts(discord, { public_key: PUBLIC_KEY, secret: "x" })).toBe(false);
    expect(schemaAccepts(discord, { public_key: app.raw.toString("base64") })).toBe(false);
    expect(discord.open).toBe(false);
  });

  it("refuses what every scheme refuses, and takes the interaction id as the delivery id", async () => {
    const out = await refusals(verifier, req(), {
      header: "X-Signature-Ed25519",
      wrongKey: req(other.privateKey),
      stale: req(app.privateKey, NOW_S - 301),
      garbage: "ab".repeat(63),
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: "1234567890123456789" }, ...TIMED_REFUSALS });
  });

  it("refuses a changed timestamp and a missing one", () => {
    const r = req();
    expect(verifier.verify({ ...r, headers: { ...r.headers, "x-signature-timestamp": String(NOW_S + 1) } })).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
    const { "x-signature-timestamp": _t, ...headers } = r.headers;
    expect(verifier.verify({ ...r, headers })).toEqual({ ok: false, reason: "missing_signature" });
  });

  it("agrees with discord-interactions both ways", async () => {
    // Its verifier accepts what sign --private-key makes…
    const signed = verifier.sign(Buffer.from(body), Date.now(), {}, { privateKey: app.privateKey });
    const sig = signed.headers["X-Signature-Ed25519"] ?? "";
    const ts = signed.headers["X-Signature-Timestamp"] ?? "";
    expect(await verifyKey(body, sig, ts, PUBLIC_KEY)).toBe(true);
    expect(await verifyKey(`${body} `, sig, ts, PUBLIC_KEY)).toBe(false);
    // …and what it refuses we refuse, what it accepts we accept.
    const r = req();
    const theirs = await verifyKey(body, r.headers["x-signature-ed25519"] ?? "", r.headers["x-signature-timestamp"] ?? "", PUBLIC_KEY);
    expect(theirs).toBe(true);
    expect(verifier.verify(r).ok).toBe(true);
    const forged = req(other.privateKey);
    expect(await verifyKey(body, forged.headers["x-signature-ed25519"] ?? "", String(NOW_S), PUBLIC_KEY)).toBe(false);
    expect(verifier.verify(fromSigned(signed, Number(ts) * 1000)).ok).toBe(true);
  });

  it("signs only with the private key of its public key", () => {
    expect(() => verifier.sign(Buffer.from(body), NOW)).toThrow(/--private-key/);
    expect(() => verifier.sign(Buffer.from(body), NOW, {}, { privateKey: other.privateKey })).toThrow(/not the pair/);
  });

  it("answers the PING interaction with a PONG, a webhook-event PING with 204, and nothing else", () => {
    const ping = { id: "1", application_id: "98765", type: 1, token: "tok", version: 1 };
    expect(verifier.verify(req(app.privateKey, NOW_S, JSON.stringify(ping))).ok).toBe(true);
    expect(verifier.handshake?.({}, ping)).toEqual({ status: 200, body: { type: 1 } });
    expect(verifier.handshake?.({}, { version: 1, application_id: "98765", type: 0 })).toEqual({ status: 204, body: "" });
    expect(verifier.handshake?.({}, JSON.parse(body))).toBeUndefined();
    // A webhook event (type 1 with an `event`) is delivered, not answered as a PING.
    expect(
      verifier.handshake?.({}, { version: 1, application_id: "98765", type: 1, event: { type: "APPLICATION_AUTHORIZED" } }),
    ).toBeUndefined();
  });

  it("refuses a public key that is not 32 bytes at load", () => {
    expect(() => build(discord, { public_key: "00".repeat(32) })).not.toThrow();
    expect(schemaAccepts(discord, { public_key: "00".repeat(31) })).toBe(false);
  });
});
