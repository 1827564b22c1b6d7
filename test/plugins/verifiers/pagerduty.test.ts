import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { pagerduty } from "../../../src/plugins/verifiers/pagerduty.js";
import { bodyHmacCases } from "./body-hmac-cases.js";
import { build, malformed, mismatch, request, SECRET } from "./helpers.js";

// A trimmed incident.triggered (https://developer.pagerduty.com/docs/webhooks/v3-overview/).
const body = JSON.stringify({
  event: {
    id: "01BZ7FAF0OC4EVPU9KSR2CQDHQ",
    event_type: "incident.triggered",
    resource_type: "incident",
    occurred_at: "2020-10-02T18:45:22.169Z",
    data: { id: "PGR0VU2", type: "incident", title: "A little bump in the road" },
  },
});
const hex = (secret: string) => createHmac("sha256", secret).update(body).digest("hex");

describe("pagerduty", () => {
  bodyHmacCases({
    plugin: pagerduty,
    header: "X-PagerDuty-Signature",
    // PagerDuty's documented rule: "v1=" + hex HMAC-SHA256 of the raw body, one per secret, comma-separated.
    signature: (secret, payload) => `v1=${createHmac("sha256", secret).update(payload).digest("hex")}`,
    body,
    deliveryId: "01BZ7FAF0OC4EVPU9KSR2CQDHQ",
    malformedValues: [hex("x"), `v0=${hex("x")}`, "v1=", `v1=${hex("x").slice(2)}`],
  });

  const verifier = build(pagerduty);
  const req = (signature: string) => request({ body, headers: { "X-PagerDuty-Signature": signature } });

  it("passes when any one of several signatures is valid (a secret being rotated)", () => {
    expect(verifier.verify(req(`v1=${hex("old secret")},v1=${hex(SECRET)}`)).ok).toBe(true);
    expect(verifier.verify(req(`v1=${hex(SECRET)}, v1=${hex("new secret")}`)).ok).toBe(true);
  });
  it("refuses when none of several is valid", () => {
    expect(verifier.verify(req(`v1=${hex("a")},v1=${hex("b")}`))).toEqual(mismatch);
  });
  it("ignores malformed entries beside a valid one, and refuses a list of only malformed ones", () => {
    expect(verifier.verify(req(`v1=zz,v1=${hex(SECRET)}`)).ok).toBe(true);
    expect(verifier.verify(req("v1=zz,v1="))).toEqual(malformed);
  });
});
