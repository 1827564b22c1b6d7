import { WebhooksHelper } from "square";
import { describe, expect, it } from "vitest";
import { square } from "../../../src/plugins/verifiers/square.js";
import { build, fromSigned, NOW, REFUSALS, refusals, request, rotation, schemaAccepts } from "./helpers.js";

// The test vector of Square's own SDKs (square-nodejs-sdk, square-go-sdk, …: webhooks helper tests).
const KEY = "Ibxx_5AKakO-3qeNVR61Dw";
const URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
const body =
  '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}';
const SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
const req = (signature: string, payload = body) =>
  request({ body: payload, headers: { "x-square-hmacsha256-signature": signature }, receivedAt: NOW });

describe("square", () => {
  const verifier = build(square, { secret: KEY, url: URL });
  const eventId = "ac3ac95b-f97d-458c-a6e6-18981597e05f";

  it("needs the notification url", () => {
    expect(schemaAccepts(square, { secret: KEY })).toBe(false);
  });

  it("accepts Square's example, which Square's own SDK accepts too", async () => {
    expect(
      await WebhooksHelper.verifySignature({ requestBody: body, signatureHeader: SIGNATURE, signatureKey: KEY, notificationUrl: URL }),
    ).toBe(true);
    expect(verifier.verify(req(SIGNATURE))).toEqual({ ok: true, deliveryId: eventId });
  });

  it("refuses what every scheme refuses, and the signature for another URL", async () => {
    const wrongKey = build(square, { secret: "another-key", url: URL }).sign(Buffer.from(body), NOW);
    const out = await refusals(verifier, req(SIGNATURE), {
      header: "x-square-hmacsha256-signature",
      wrongKey: fromSigned(wrongKey),
      garbage: "not base64!",
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: eventId }, ...REFUSALS });
    expect(build(square, { secret: KEY, url: `${URL}/other` }).verify(req(SIGNATURE))).toEqual({ ok: false, reason: "signature_mismatch" });
  });

  it("accepts old and new signature key while rotating, not a third", async () => {
    expect(
      await rotation(square, { url: URL }, (s) => fromSigned(build(square, { secret: s, url: URL }).sign(Buffer.from(body), NOW))),
    ).toEqual([true, true, false]);
  });

  it("signs what Square's SDK accepts", async () => {
    const other = JSON.stringify({ merchant_id: "M1", type: "order.created", event_id: "e-2" });
    const signed = verifier.sign(Buffer.from(other), NOW);
    const signatureHeader = signed.headers["x-square-hmacsha256-signature"] ?? "";
    expect(await WebhooksHelper.verifySignature({ requestBody: other, signatureHeader, signatureKey: KEY, notificationUrl: URL })).toBe(
      true,
    );
    expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({ "x-square-hmacsha256-signature": SIGNATURE });
  });
});
