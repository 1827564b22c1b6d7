import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { standardWebhooks } from "../../../src/plugins/verifiers/standard-webhooks.js";
import { build, malformed, mismatch, missing, NOW, NOW_S, outOfTolerance, request, rotation, roundTrip, tamper } from "./helpers.js";

// The example secret from the Standard Webhooks spec.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const body = JSON.stringify({
  type: "contact.created",
  timestamp: "2022-11-03T20:26:10.344522Z",
  data: { id: "1f81eb52-5198-4599-803e-771906343485", email: "john@example.com" },
});

/** The reference library signs; we only choose the header names. */
const signWith = (secret: string, payload = body, at = NOW, id = MSG_ID) => new Webhook(secret).sign(id, new Date(at), payload);
/** `null` leaves a header out. */
const headers = (signature: string | undefined, ts = String(NOW_S), id: string | null = MSG_ID) => ({
  "webhook-id": id ?? undefined,
  "webhook-timestamp": ts,
  "webhook-signature": signature,
});
const req = (h: Record<string, string | undefined>, payload = body, receivedAt = NOW) => request({ body: payload, headers: h, receivedAt });

describe("standard-webhooks", () => {
  const verifier = build(standardWebhooks, { secret: SECRET });
  const good = signWith(SECRET);
  const sig = good.slice("v1,".length);

  it.each([
    { name: "valid", req: req(headers(good)), want: { ok: true, deliveryId: MSG_ID } },
    {
      name: "several signatures, one of them ours",
      req: req(headers(`v1,${"A".repeat(44)} v1a,c2lnbmVk ${good}`)),
      want: { ok: true, deliveryId: MSG_ID },
    },
    { name: "tampered body", req: req(headers(good), tamper(body)), want: mismatch },
    { name: "tampered id", req: req(headers(good, String(NOW_S), "msg_other")), want: mismatch },
    { name: "tampered timestamp", req: req(headers(good, String(NOW_S + 1))), want: mismatch },
    { name: "wrong key", req: req(headers(signWith("whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw=="))), want: mismatch },
    { name: "missing signature", req: req(headers(undefined)), want: missing },
    { name: "missing id", req: req(headers(good, String(NOW_S), null)), want: missing },
    { name: "only other versions", req: req(headers(`v1a,${sig}`)), want: malformed },
    { name: "no version", req: req(headers(sig)), want: malformed },
    { name: "wrong length", req: req(headers(`v1,${Buffer.alloc(16).toString("base64")}`)), want: malformed },
    { name: "not base64", req: req(headers("v1,!!notbase64!!")), want: malformed },
    { name: "timestamp not a number", req: req(headers(good, "yesterday")), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it.each([
    { name: "5 min old", at: NOW + 300_000, want: { ok: true, deliveryId: MSG_ID } },
    { name: "5 min and 1 ms old", at: NOW + 300_001, want: outOfTolerance },
    { name: "5 min ahead", at: NOW - 300_000, want: { ok: true, deliveryId: MSG_ID } },
    { name: "5 min and 1 ms ahead", at: NOW - 300_001, want: outOfTolerance },
  ])("default tolerance: $name", ({ at, want }) => {
    expect(verifier.verify(req(headers(good), body, at))).toEqual(want);
  });

  it("takes a custom tolerance", () => {
    const lax = build(standardWebhooks, { secret: SECRET, tolerance: "15m" });
    expect(lax.verify(req(headers(good), body, NOW + 900_000)).ok).toBe(true);
    expect(lax.verify(req(headers(good), body, NOW - 900_001))).toEqual(outOfTolerance);
  });

  it("accepts Svix's header names, signed by Svix's library", () => {
    const svix = new SvixWebhook(SECRET).sign(MSG_ID, new Date(NOW), body);
    const svixHeaders = { "svix-id": MSG_ID, "svix-timestamp": String(NOW_S), "svix-signature": svix };
    expect(verifier.verify(req(svixHeaders))).toEqual({ ok: true, deliveryId: MSG_ID });
    expect(verifier.verify(req(svixHeaders, tamper(body)))).toEqual(mismatch);
    expect(verifier.verify(req({ ...svixHeaders, "svix-id": undefined }))).toEqual(missing);
  });

  it("takes a secret without the whsec_ prefix as base64 too", () => {
    const bare = build(standardWebhooks, { secret: SECRET.slice("whsec_".length) });
    expect(bare.verify(req(headers(good)))).toEqual({ ok: true, deliveryId: MSG_ID });
  });

  it("refuses a secret that is not base64 at load", () => {
    expect(() => build(standardWebhooks, { secret: "whsec_not base64!" })).toThrow(/base64/);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    const secrets = [
      "whsec_bmV3IHNlY3JldCBmb3IgdGVzdHM=",
      "whsec_b2xkIHNlY3JldCBmb3IgdGVzdHM=",
      "whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw==",
    ] as const;
    expect(await rotation(standardWebhooks, {}, (s) => req(headers(signWith(s))), secrets)).toEqual([true, true, false]);
  });

  it("signs what it and the reference library accept", () => {
    expect(roundTrip(verifier, body)).toMatchObject({ ok: true });
    const now = Date.now();
    const signed = verifier.sign(Buffer.from(body), now);
    expect(new Webhook(SECRET).verify(body, signed.headers)).toEqual(JSON.parse(body));
    expect(signed.headers["webhook-id"]).toMatch(/^msg_/);
    expect(verifier.sign(Buffer.from(body), now + 1).headers["webhook-id"]).not.toBe(signed.headers["webhook-id"]);
  });
});
