import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { clerk } from "../../../src/plugins/verifiers/clerk.js";
import { resend } from "../../../src/plugins/verifiers/resend.js";
import { svix } from "../../../src/plugins/verifiers/svix.js";
import type { VerifierPlugin } from "../../../src/plugins/verifiers/verifier.js";
import { build, malformed, mismatch, missing, NOW, NOW_S, outOfTolerance, request, roundTrip, tamper } from "./helpers.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";

// Svix itself, Resend and Clerk all send through Svix: one payload each, signed by Svix's own library.
const cases: { plugin: VerifierPlugin; body: string }[] = [
  { plugin: svix, body: JSON.stringify({ type: "invoice.paid", data: { id: "inv_1" } }) },
  {
    plugin: resend,
    body: JSON.stringify({
      type: "email.delivered",
      created_at: "2024-02-22T23:41:12.126Z",
      data: { email_id: "56761188-7520-42d8-8898-ff6fc54ce618" },
    }),
  },
  { plugin: clerk, body: JSON.stringify({ type: "user.created", object: "event", data: { id: "user_29w83sxmDNGwOuEthce5gg56FcC" } }) },
];

describe.each(cases)("$plugin.type", ({ plugin, body }) => {
  const verifier = build(plugin, { secret: SECRET });
  const sign = (secret = SECRET, at = NOW) => new SvixWebhook(secret).sign(MSG_ID, new Date(at), body);
  const headers = (signature: string | undefined, ts = String(NOW_S)) => ({
    "svix-id": MSG_ID,
    "svix-timestamp": ts,
    "svix-signature": signature,
  });
  const req = (h: Record<string, string | undefined>, payload = body, at = NOW) => request({ body: payload, headers: h, receivedAt: at });

  it.each([
    { name: "signed by Svix's library", req: () => req(headers(sign())), want: { ok: true, deliveryId: MSG_ID } },
    { name: "changed body", req: () => req(headers(sign()), tamper(body)), want: mismatch },
    { name: "wrong key", req: () => req(headers(sign("whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw=="))), want: mismatch },
    { name: "missing signature", req: () => req(headers(undefined)), want: missing },
    { name: "malformed signature", req: () => req(headers("v1,!!")), want: malformed },
    { name: "stale timestamp", req: () => req(headers(sign()), body, NOW + 301_000), want: outOfTolerance },
  ])("$name", ({ req: make, want }) => {
    expect(verifier.verify(make())).toEqual(want);
  });

  it("signs with svix-* headers that Svix's library accepts", () => {
    expect(roundTrip(verifier, body)).toMatchObject({ ok: true });
    const signed = verifier.sign(Buffer.from(body), Date.now());
    expect(Object.keys(signed.headers).sort()).toEqual(["svix-id", "svix-signature", "svix-timestamp"]);
    expect(new SvixWebhook(SECRET).verify(body, signed.headers)).toEqual(JSON.parse(body));
  });
});
