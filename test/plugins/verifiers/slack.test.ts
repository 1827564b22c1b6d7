import { describe, expect, it } from "vitest";
import { slack } from "../../../src/plugins/verifiers/slack.js";
import { build, malformed, mismatch, missing, outOfTolerance, request, rotation, roundTrip } from "./helpers.js";

// The worked example from Slack's docs (https://docs.slack.dev/authentication/verifying-requests-from-slack).
const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const TS = 1531420618;
const body =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const AT = TS * 1000 + 1_500;

/** `null` leaves a header out. */
const req = (signature: string | null, timestamp: string | null = String(TS), payload = body, receivedAt = AT) =>
  request({
    body: payload,
    headers: { "X-Slack-Signature": signature ?? undefined, "X-Slack-Request-Timestamp": timestamp ?? undefined },
    receivedAt,
  });

describe("slack", () => {
  const verifier = build(slack, { secret: SECRET });
  // The real vector's signature for anything but the docs' secret, timestamp and body is made by sign().
  const signedBy = (secret: string, payload: string, now = AT) => build(slack, { secret }).sign(Buffer.from(payload), now).headers;

  it.each([
    { name: "Slack's test vector", req: req(SIGNATURE), want: { ok: true } },
    { name: "tampered body", req: req(SIGNATURE, String(TS), body.replace("roadrunner", "coyote")), want: mismatch },
    { name: "tampered timestamp", req: req(SIGNATURE, String(TS + 1)), want: mismatch },
    { name: "wrong key", req: req(signedBy("another secret", body)["X-Slack-Signature"] ?? null), want: mismatch },
    { name: "missing signature", req: req(null), want: missing },
    { name: "missing timestamp", req: req(SIGNATURE, null), want: missing },
    { name: "timestamp not a number", req: req(SIGNATURE, "2018-07-12T19:03:38Z"), want: malformed },
    { name: "no v0= prefix", req: req(SIGNATURE.slice(3)), want: malformed },
    { name: "unknown version", req: req(`v1=${SIGNATURE.slice(3)}`), want: malformed },
    { name: "wrong length", req: req(SIGNATURE.slice(0, -4)), want: malformed },
    { name: "not hex", req: req(`v0=${"z".repeat(64)}`), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it.each([
    { name: "5 min old", at: TS * 1000 + 300_000, want: { ok: true } },
    { name: "5 min and 1 s old", at: TS * 1000 + 301_000, want: outOfTolerance },
    { name: "5 min ahead", at: TS * 1000 - 300_000, want: { ok: true } },
    { name: "5 min and 1 ms ahead", at: TS * 1000 - 300_001, want: outOfTolerance },
  ])("default tolerance: $name", ({ at, want }) => {
    expect(verifier.verify(req(SIGNATURE, String(TS), body, at))).toEqual(want);
  });

  it("takes a custom tolerance", () => {
    const lax = build(slack, { secret: SECRET, tolerance: "1h" });
    expect(lax.verify(req(SIGNATURE, String(TS), body, TS * 1000 + 3_600_000)).ok).toBe(true);
    expect(lax.verify(req(SIGNATURE, String(TS), body, TS * 1000 + 3_600_001))).toEqual(outOfTolerance);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    const results = await rotation(slack, {}, (s) => request({ body, headers: signedBy(s, body), receivedAt: AT }));
    expect(results).toEqual([true, true, false]);
  });

  it("signs what it accepts, reproducing Slack's vector", () => {
    expect(verifier.sign(Buffer.from(body), TS * 1000).headers).toEqual({
      "X-Slack-Request-Timestamp": String(TS),
      "X-Slack-Signature": SIGNATURE,
    });
    expect(roundTrip(verifier, body, AT)).toEqual({ ok: true });
  });

  it("takes event_id as the dedupe id of Events API deliveries", () => {
    const event = JSON.stringify({
      token: "x",
      team_id: "T1DC2JH3J",
      type: "event_callback",
      event_id: "Ev0PV52K21",
      event: { type: "app_mention" },
    });
    expect(verifier.verify(request({ body: event, headers: signedBy(SECRET, event), receivedAt: AT }))).toEqual({
      ok: true,
      deliveryId: "Ev0PV52K21",
    });
  });

  it("answers url_verification with the challenge, and nothing else", () => {
    const challenge = {
      token: "Jhj5dZrVaK7ZwHHjRyZWjbDl",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    };
    const text = JSON.stringify(challenge);
    expect(verifier.verify(request({ body: text, headers: signedBy(SECRET, text), receivedAt: AT }))).toEqual({ ok: true });
    expect(verifier.handshake?.({}, challenge)).toEqual({ status: 200, body: { challenge: challenge.challenge } });
    expect(verifier.handshake?.({}, { type: "event_callback", event_id: "Ev1" })).toBeUndefined();
    expect(verifier.handshake?.({}, body)).toBeUndefined();
  });
});
