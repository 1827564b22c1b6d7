import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { calendly } from "../../../src/plugins/verifiers/calendly.js";
import { build, NOW, NOW_S, refusals, request, rotation, roundTrip, TIMED_REFUSALS } from "./helpers.js";

const SECRET = "g1DhM7mWGyt4nBBlT6FSdTcrsk6rxILrpI3GaahKTW0";
const body = JSON.stringify({
  created_at: "2026-11-29T12:00:00.000000Z",
  created_by: "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
  event: "invitee.created",
  payload: {
    email: "test@example.com",
    name: "John Doe",
    status: "active",
    uri: "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAA1",
  },
});
// As Calendly's docs describe it (https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures):
// HMAC-SHA256 of "{t}.{body}" with the signing key, hex, in `t=…,v1=…`.
const header = (key: string, t: number) => `t=${t},v1=${createHmac("sha256", key).update(`${t}.${body}`).digest("hex")}`;
const req = (h: string, at = NOW) => request({ body, headers: { "Calendly-Webhook-Signature": h }, receivedAt: at });

describe("calendly", () => {
  const verifier = build(calendly, { secret: SECRET });

  it("refuses what every scheme refuses", async () => {
    const out = await refusals(verifier, req(header(SECRET, NOW_S)), {
      header: "Calendly-Webhook-Signature",
      wrongKey: req(header("another-signing-key", NOW_S)),
      stale: req(header(SECRET, NOW_S - 301)),
      garbage: `t=${NOW_S},v1=not-hex`,
    });
    expect(out).toEqual({ good: { ok: true }, ...TIMED_REFUSALS });
  });

  it("takes a custom tolerance", () => {
    const lax = build(calendly, { secret: SECRET, tolerance: "1h" });
    expect(lax.verify(req(header(SECRET, NOW_S - 3600))).ok).toBe(true);
    expect(lax.verify(req(header(SECRET, NOW_S - 3601)))).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(calendly, {}, (s) => req(header(s, NOW_S)))).toEqual([true, true, false]);
  });

  it("signs as Calendly does", () => {
    expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({ "Calendly-Webhook-Signature": header(SECRET, NOW_S) });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });
});
