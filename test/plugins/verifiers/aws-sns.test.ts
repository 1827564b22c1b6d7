import { sign } from "node:crypto";
import https from "node:https";
import MessageValidator from "sns-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsSns } from "../../../src/plugins/verifiers/aws-sns.js";
import { snsStringToSign } from "../../../src/plugins/verifiers/aws-sns-message.js";
import type { Verifier } from "../../../src/plugins/verifiers/verifier.js";
import { build, fromSigned, NOW, request, schemaAccepts } from "./helpers.js";
import { type SnsFixture, startSnsFixture, TOPIC } from "./sns-fixture.js";

let sns: SnsFixture;
let verifier: Verifier;
const savedCa = https.globalAgent.options.ca;

beforeAll(async () => {
  sns = await startSnsFixture();
  // In this process, trust the local stand-in's TLS certificate (the daemon gets NODE_EXTRA_CA_CERTS).
  https.globalAgent.options.ca = sns.tlsCert;
  verifier = build(awsSns, { topics: ["arn:aws:sns:eu-west-1:123456789012:*"], cert_hosts: [sns.host] });
}, 60_000);
afterAll(async () => {
  https.globalAgent.options.ca = savedCa;
  await sns?.close();
});

const notification = (over: Record<string, unknown> = {}) => ({
  Type: "Notification",
  MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
  TopicArn: TOPIC,
  Subject: "ALARM: disk full",
  Message: '{"AlarmName":"disk","NewStateValue":"ALARM"}',
  Timestamp: "2026-11-29T11:59:59.000Z",
  SignatureVersion: "2",
  SigningCertURL: sns.certUrl,
  UnsubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
  ...over,
});

/** Signed as AWS documents it, by the test itself rather than by the code under test. */
function signed(m: Record<string, unknown>, key = sns.signingKey): Record<string, unknown> {
  const text = snsText(m);
  return { ...m, Signature: sign(m.SignatureVersion === "1" ? "sha1" : "sha256", Buffer.from(text), key).toString("base64") };
}
function snsText(m: Record<string, unknown>): string {
  const fields =
    m.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return fields
    .filter((f) => typeof m[f] === "string")
    .map((f) => `${f}\n${m[f]}\n`)
    .join("");
}
const req = (m: unknown) => request({ body: JSON.stringify(m), headers: { "Content-Type": "text/plain; charset=UTF-8" }, receivedAt: NOW });

describe("aws-sns", () => {
  it("needs topics, and no secret", () => {
    expect(schemaAccepts(awsSns, {})).toBe(false);
    expect(schemaAccepts(awsSns, { topics: [] })).toBe(false);
    expect(schemaAccepts(awsSns, { topics: [TOPIC] })).toBe(true);
    expect(awsSns.open).toBe(false);
  });

  it("accepts a signed notification (SignatureVersion 2 and 1) and takes MessageId as the delivery id", async () => {
    expect(await verifier.verify(req(signed(notification())))).toEqual({ ok: true, deliveryId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324" });
    expect(await verifier.verify(req(signed(notification({ SignatureVersion: "1" }))))).toMatchObject({ ok: true });
    // Subject is optional and, when absent, not signed.
    expect(await verifier.verify(req(signed(notification({ Subject: undefined }))))).toMatchObject({ ok: true });
  });

  it("fetches the certificate once and caches it", async () => {
    const before = sns.certFetches;
    for (let i = 0; i < 3; i++) expect((await verifier.verify(req(signed(notification({ MessageId: `m-${i}` }))))).ok).toBe(true);
    expect(sns.certFetches - before).toBe(0);
  });

  it("refuses a changed message, a wrong key, a missing or malformed signature", async () => {
    const good = signed(notification());
    const { generateKeyPairSync } = await import("node:crypto");
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const { Signature: _s, ...unsigned } = good;
    expect(await verifier.verify(req({ ...good, Message: '{"AlarmName":"disk","NewStateValue":"OK"}' }))).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
    expect(await verifier.verify(req(signed(notification(), stranger)))).toEqual({ ok: false, reason: "signature_mismatch" });
    expect(await verifier.verify(req(unsigned))).toEqual({ ok: false, reason: "missing_signature" });
    expect(await verifier.verify(request({ body: "not json" }))).toEqual({ ok: false, reason: "missing_signature" });
    expect(await verifier.verify(req({ ...good, Signature: "***" }))).toEqual({ ok: false, reason: "malformed_signature" });
    expect(await verifier.verify(req({ ...good, SignatureVersion: "3" }))).toEqual({ ok: false, reason: "malformed_signature" });
    expect(await verifier.verify(req({ ...good, Type: "Surprise" }))).toEqual({ ok: false, reason: "malformed_signature" });
  });

  it("fetches certificates only over HTTPS from the trusted hosts", async () => {
    for (const url of [
      "https://evil.example.com/SimpleNotificationService-local.pem",
      `http://${sns.host}/SimpleNotificationService-local.pem`,
      "https://sns.eu-west-1.amazonaws.com.evil.example.com/cert.pem",
      `https://user@${sns.host}/SimpleNotificationService-local.pem`,
      `https://${sns.host}/?Action=ConfirmSubscription`,
      `https://${sns.host}/other/SimpleNotificationService-local.pem`,
      "not a url",
    ]) {
      expect(await verifier.verify(req(signed(notification({ SigningCertURL: url }))))).toEqual({ ok: false, reason: "untrusted_url" });
    }
    // The default hosts are SNS's own.
    const aws = build(awsSns, { topics: [TOPIC] });
    expect(await aws.verify(req(signed(notification())))).toEqual({ ok: false, reason: "untrusted_url" });
  });

  it("refuses a certificate it cannot fetch", async () => {
    const missing = notification({ SigningCertURL: `https://${sns.host}/SimpleNotificationService-gone.pem` });
    expect(await verifier.verify(req(signed(missing)))).toEqual({ ok: false, reason: "certificate_unavailable" });
  });

  it("refuses a genuine message from a topic not listed", async () => {
    const other = signed(notification({ TopicArn: "arn:aws:sns:eu-west-1:999999999999:alerts" }));
    expect(await verifier.verify(req(other))).toEqual({ ok: false, reason: "topic_not_allowed" });
  });

  it("confirms a subscription by GETting its SubscribeURL, as a follow-up the daemon runs", async () => {
    const confirmation = signed({
      Type: "SubscriptionConfirmation",
      MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
      Token: "2336412f37",
      TopicArn: TOPIC,
      Message: `You have chosen to subscribe to the topic ${TOPIC}.`,
      SubscribeURL: sns.subscribeUrl,
      Timestamp: "2026-11-29T11:59:59.000Z",
      SignatureVersion: "2",
      SigningCertURL: sns.certUrl,
    });
    expect((await verifier.verify(req(confirmation))).ok).toBe(true);
    const answer = verifier.handshake?.({}, confirmation);
    expect(answer).toMatchObject({ status: 200, body: { status: "subscription confirmed", topic: TOPIC } });
    expect(sns.confirmations).toEqual([]);
    await answer?.followUp?.run();
    expect(sns.confirmations).toHaveLength(1);
    // A SubscribeURL off the trusted hosts is refused before anything is fetched.
    const lured = signed({ ...confirmation, SubscribeURL: "https://evil.example.com/?Action=ConfirmSubscription" });
    expect(await verifier.verify(req(lured))).toEqual({ ok: false, reason: "untrusted_url" });
    // An UnsubscribeConfirmation is acknowledged and never undone.
    const bye = signed({ ...confirmation, Type: "UnsubscribeConfirmation" });
    expect((await verifier.verify(req(bye))).ok).toBe(true);
    expect(verifier.handshake?.({}, bye)).toEqual({ status: 200, body: { status: "unsubscribed", topic: TOPIC } });
    expect(verifier.handshake?.({}, signed(notification()))).toBeUndefined();
  });

  it("signs with --private-key what sns-validator accepts, the same text AWS signs", async () => {
    const body = Buffer.from(JSON.stringify({ Type: "Notification", TopicArn: TOPIC, Message: "hello", SigningCertURL: sns.certUrl }));
    const out = verifier.sign(body, NOW, {}, { privateKey: sns.signingKey });
    const message = JSON.parse(out.body.toString("utf8"));
    expect(out.headers["x-amz-sns-message-type"]).toBe("Notification");
    expect(snsStringToSign(message)).toBe(snsText(message));
    expect(await verifier.verify(fromSigned(out))).toEqual({ ok: true, deliveryId: message.MessageId });
    const validator = new MessageValidator(new RegExp(`^${sns.host.replace(/\./g, "\\.")}$`));
    await expect(
      new Promise((resolve, reject) => validator.validate(message, (err: Error | null) => (err ? reject(err) : resolve(true)))),
    ).resolves.toBe(true);
    const tampered = { ...message, Message: "hullo" };
    await expect(
      new Promise((resolve, reject) => validator.validate(tampered, (err: Error | null) => (err ? reject(err) : resolve(true)))),
    ).rejects.toThrow();
    expect(() => verifier.sign(body, NOW)).toThrow(/--private-key/);
    expect(() => verifier.sign(Buffer.from("{}"), NOW, {}, { privateKey: sns.signingKey })).toThrow(/SNS message/);
  });
});
