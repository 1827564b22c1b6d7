import twilioSdk from "twilio";
import { describe, expect, it } from "vitest";
import { twilio } from "../../../src/plugins/verifiers/twilio.js";
import { build, fromSigned, NOW, REFUSALS, refusals, request, rotation, schemaAccepts } from "./helpers.js";

const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } = twilioSdk;

const TOKEN = "12345";
const URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
// The example in Twilio's docs (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
const fields = { CallSid: "CA1234567890ABCDE", Caller: "+12349013030", Digits: "1234", From: "+12349013030", To: "+18005551212" };
const form = new URLSearchParams(fields).toString();
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

const formReq = (signature: string | undefined, body = form) =>
  request({ body, headers: { ...FORM, "X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": "idem-1" }, receivedAt: NOW });

describe("twilio", () => {
  const verifier = build(twilio, { secret: TOKEN, url: URL });

  it("needs the public url", () => {
    expect(schemaAccepts(twilio, { secret: TOKEN })).toBe(false);
  });

  it("accepts Twilio's documented example, signed by Twilio's own library", () => {
    const signature = getExpectedTwilioSignature(TOKEN, URL, fields);
    expect(signature).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    expect(verifier.verify(formReq(signature))).toEqual({ ok: true, deliveryId: "idem-1" });
  });

  it("refuses what every scheme refuses, and a signature for another URL", async () => {
    const good = formReq(getExpectedTwilioSignature(TOKEN, URL, fields));
    const out = await refusals(verifier, good, {
      header: "X-Twilio-Signature",
      wrongKey: formReq(getExpectedTwilioSignature("54321", URL, fields)),
      garbage: "****",
    });
    expect(out).toEqual({ good: { ok: true, deliveryId: "idem-1" }, ...REFUSALS });
    expect(verifier.verify(formReq(getExpectedTwilioSignature(TOKEN, "https://mycompany.com/other.php", fields)))).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
    // A field added by someone else changes what was signed.
    expect(verifier.verify(formReq(getExpectedTwilioSignature(TOKEN, URL, fields), `${form}&Extra=1`))).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
  });

  it("accepts the URL with or without its default port, as Twilio's validator does", () => {
    const withPort = build(twilio, { secret: TOKEN, url: "https://mycompany.com:443/myapp.php?foo=1&bar=2" });
    expect(withPort.verify(formReq(getExpectedTwilioSignature(TOKEN, URL, fields))).ok).toBe(true);
    expect(verifier.verify(formReq(getExpectedTwilioSignature(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", fields))).ok).toBe(
      true,
    );
  });

  it("signs repeated fields as Twilio's library does", () => {
    const body = "To=%2B1&Media=b&Media=a&Media=b";
    const signature = getExpectedTwilioSignature(TOKEN, URL, { To: "+1", Media: ["b", "a", "b"] });
    expect(verifier.verify(formReq(signature, body)).ok).toBe(true);
    expect(verifier.sign(Buffer.from(body), NOW, { "content-type": "application/x-www-form-urlencoded" }).headers).toEqual({
      "X-Twilio-Signature": signature,
    });
  });

  it("checks JSON bodies through bodySHA256, both ways with Twilio's library", () => {
    const json = JSON.stringify({ EventType: "com.twilio.messaging.message.delivered", Sid: "SM123" });
    const signed = verifier.sign(Buffer.from(json), NOW, { "content-type": "application/json" });
    const hash = signed.query?.bodySHA256 ?? "";
    const signature = signed.headers["X-Twilio-Signature"] ?? "";
    // What sign produces passes Twilio's validator, for the URL Twilio would call…
    expect(validateRequestWithBody(TOKEN, signature, `${URL}&bodySHA256=${hash}`, json)).toBe(true);
    // …and Twilio's own signature of that URL passes ours.
    const theirs = getExpectedTwilioSignature(TOKEN, `${URL}&bodySHA256=${hash}`, {});
    expect(theirs).toBe(signature);
    const req = (body: string, h = hash) =>
      request({
        body,
        headers: { "Content-Type": "application/json", "X-Twilio-Signature": theirs },
        query: { bodySHA256: h },
        receivedAt: NOW,
      });
    expect(verifier.verify(req(json))).toEqual({ ok: true });
    expect(verifier.verify(req(json.replace("123", "124")))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(verifier.verify(req(json, "0".repeat(64)))).toEqual({ ok: false, reason: "signature_mismatch" });
    // A JSON body without bodySHA256 would be unsigned.
    expect(verifier.verify(request({ body: json, headers: { "Content-Type": "application/json", "X-Twilio-Signature": theirs } }))).toEqual(
      {
        ok: false,
        reason: "missing_signature",
      },
    );
  });

  it("signs forms that Twilio's validator accepts", () => {
    const signed = verifier.sign(Buffer.from(form), NOW, { "content-type": "application/x-www-form-urlencoded" });
    expect(validateRequest(TOKEN, signed.headers["X-Twilio-Signature"] ?? "", URL, fields)).toBe(true);
    expect(verifier.verify(fromSigned({ ...signed, headers: { ...signed.headers, ...FORM } })).ok).toBe(true);
  });

  it("accepts old and new auth token while rotating, not a third", async () => {
    expect(await rotation(twilio, { url: URL }, (s) => formReq(getExpectedTwilioSignature(s, URL, fields)))).toEqual([true, true, false]);
  });
});
