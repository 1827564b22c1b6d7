import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hubspot, hubspotUri } from "../../../src/plugins/verifiers/hubspot.js";
import { build, NOW, refusals, request, rotation, roundTrip, schemaAccepts, TIMED_REFUSALS } from "./helpers.js";

const SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const URL = "https://hooks.example.com/hooks/hubspot?portal=62515";
const body = JSON.stringify([
  {
    eventId: 1,
    subscriptionId: 12345,
    portalId: 62515,
    occurredAt: 1564113600000,
    subscriptionType: "contact.creation",
    attemptNumber: 0,
    objectId: 123,
  },
]);
// As HubSpot's docs build it: base64 HMAC-SHA256 of method + URI + body + timestamp (milliseconds).
const sig = (key: string, ts: number, url = URL) => createHmac("sha256", key).update(`POST${url}${body}${ts}`).digest("base64");
const req = (key: string, ts = NOW, url = URL) =>
  request({ body, headers: { "X-HubSpot-Signature-v3": sig(key, ts, url), "X-HubSpot-Request-Timestamp": String(ts) }, receivedAt: NOW });

describe("hubspot", () => {
  const verifier = build(hubspot, { url: URL, secret: SECRET });

  it("needs the public url", () => {
    expect(schemaAccepts(hubspot, { secret: SECRET })).toBe(false);
    expect(schemaAccepts(hubspot, { secret: SECRET, url: "/hooks/hubspot" })).toBe(false);
    expect(schemaAccepts(hubspot, { secret: SECRET, url: URL })).toBe(true);
  });

  it("refuses what every scheme refuses, and a signature for another URL", async () => {
    const out = await refusals(verifier, req(SECRET), {
      header: "X-HubSpot-Signature-v3",
      wrongKey: req("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"),
      stale: req(SECRET, NOW - 300_001),
      garbage: "!!!",
    });
    expect(out).toEqual({ good: { ok: true }, ...TIMED_REFUSALS });
    expect(verifier.verify(req(SECRET, NOW, "https://elsewhere.example.com/hooks/hubspot?portal=62515"))).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
  });

  it("reads the timestamp as milliseconds", () => {
    expect(verifier.verify(req(SECRET, NOW - 299_000)).ok).toBe(true);
    expect(verifier.verify(req(SECRET, NOW / 1000))).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
  });

  it("decodes the escapes HubSpot decodes before signing, and no others", () => {
    expect(hubspotUri("https://x.example.com/a%3Ab%2Fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2Cl%3Bm%20n%2a")).toBe(
      "https://x.example.com/a:b/c?d@e!f$g'h(i)j*k,l;m%20n*",
    );
    const encoded = build(hubspot, { url: "https://hooks.example.com/hooks/hubspot?team=a%3Ab", secret: SECRET });
    expect(encoded.verify(req(SECRET, NOW, "https://hooks.example.com/hooks/hubspot?team=a:b")).ok).toBe(true);
  });

  it("accepts old and new client secret while rotating, not a third", async () => {
    expect(await rotation(hubspot, { url: URL }, (s) => req(s))).toEqual([true, true, false]);
  });

  it("signs as HubSpot does", () => {
    expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({
      "X-HubSpot-Request-Timestamp": String(NOW),
      "X-HubSpot-Signature-v3": sig(SECRET, NOW),
    });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });
});
