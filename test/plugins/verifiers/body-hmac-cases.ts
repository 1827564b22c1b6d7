import { expect, it } from "vitest";
import type { VerifierPlugin } from "../../../src/plugins/verifiers/verifier.js";
import { build, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

/**
 * The refusals every body-HMAC preset must make, with a signer the test file writes from the
 * provider's own documentation (never the verifier's sign()): a changed body, a wrong key, a
 * missing header, malformed values, rotation, and sign() agreeing with the provider's rule.
 */
export function bodyHmacCases(spec: {
  plugin: VerifierPlugin;
  /** The signature header as the provider sends it. */
  header: string;
  /** The provider's signature header value for this body, computed independently. */
  signature(secret: string, body: string): string;
  body: string;
  /** Headers the provider sends besides the signature. */
  headers?: Record<string, string>;
  deliveryId?: string;
  /** Header values that must be refused as malformed. */
  malformedValues: string[];
}): void {
  const { plugin, header, body } = spec;
  const verifier = build(plugin);
  const req = (signature: string | undefined, payload = body) =>
    request({ body: payload, headers: { "Content-Type": "application/json", ...spec.headers, [header]: signature } });
  const good = spec.signature(SECRET, body);
  const valid = spec.deliveryId === undefined ? { ok: true } : { ok: true, deliveryId: spec.deliveryId };

  it("accepts the provider's signature", () => {
    expect(verifier.verify(req(good))).toEqual(valid);
  });
  it("refuses a changed body", () => {
    expect(verifier.verify(req(good, tamper(body)))).toEqual(mismatch);
  });
  it("refuses a signature made with another key", () => {
    expect(verifier.verify(req(spec.signature("another secret", body)))).toEqual(mismatch);
  });
  it("refuses a request without the header", () => {
    expect(verifier.verify(req(undefined))).toEqual(missing);
  });
  it.each(spec.malformedValues)("refuses a malformed signature: %s", (value) => {
    expect(verifier.verify(req(value))).toEqual(malformed);
  });
  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(plugin, {}, (s) => req(spec.signature(s, body)))).toEqual([true, true, false]);
  });
  it("signs what it accepts, as the provider would", () => {
    expect(roundTrip(verifier, body).ok).toBe(true);
    const signed = verifier.sign(Buffer.from(body), 0);
    expect(Object.keys(signed.headers)).toEqual([header]);
    expect(verifier.verify(req(signed.headers[header]))).toEqual(valid);
    expect(signed.headers[header]).toBe(good);
  });
}
