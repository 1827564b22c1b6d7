import { generateKeyPairSync, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SnsFixture, startSnsFixture, TOPIC } from "../plugins/verifiers/sns-fixture.js";
import { metric, post, type RunningDaemon, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * Public-key schemes through the real ingress of the built daemon: Discord (Ed25519, its PING)
 * and AWS SNS (a certificate fetched over HTTPS from a local stand-in for SNS, trusted through
 * NODE_EXTRA_CA_CERTS, and a subscription confirmed by calling back). Requests are signed by
 * `switchyard sign --private-key` or by the test itself; forgeries get 401 with the reason logged.
 */

/** The headers `sign` printed (the lines before the blank one), lower-cased as `post` writes its own. */
function headersOf(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n\n")[0]?.split("\n") ?? []) {
    const colon = line.indexOf(": ");
    if (colon > 0) out[line.slice(0, colon).toLowerCase()] = line.slice(colon + 2);
  }
  return out;
}

describe("e2e: public-key schemes", () => {
  let dir: string;
  let sink: Sink;
  let sns: SnsFixture;
  let daemon: RunningDaemon;
  let config: string;
  const app = generateKeyPairSync("ed25519");
  const stranger = generateKeyPairSync("ed25519");
  const appKeyFile = () => join(dir, "discord.pem");

  beforeAll(async () => {
    dir = tempDir();
    sink = await startSink();
    sns = await startSnsFixture();
    writeFileSync(appKeyFile(), app.privateKey.export({ format: "pem", type: "pkcs8" }));
    const publicKey = Buffer.from(app.publicKey.export({ format: "jwk" }).x ?? "", "base64url").toString("hex");
    config = writeConfig(
      dir,
      `server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: discord
    path: /hooks/discord
    verify: { type: discord, public_key: "${publicKey}" }
    dedupe: true
    targets: [{ name: sink, type: http, url: "${sink.url}/discord" }]
  - name: sns
    path: /hooks/sns
    verify: { type: aws-sns, topics: ["arn:aws:sns:eu-west-1:123456789012:*"], cert_hosts: ["${sns.host}"] }
    dedupe: true
    filter: 'body.Type = "Notification"'
    targets: [{ name: sink, type: http, url: "${sink.url}/sns", filter: 'body.Type = "Notification"' }]
`,
    );
    daemon = await startDaemon(config, { NODE_EXTRA_CA_CERTS: sns.tlsCertFile });
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
    await sns?.close();
  });

  const refusedWith = (reason: string) =>
    waitFor(() => daemon.logs.find((l) => l.reason === reason && l.status === 401), `a 401 logged as ${reason}`);

  describe("discord", () => {
    const interaction = JSON.stringify({
      id: "1180000000000000001",
      application_id: "42",
      type: 2,
      data: { name: "deploy" },
      token: "t",
      version: 1,
    });

    async function signed(body: string): Promise<Record<string, string>> {
      const file = join(dir, "interaction.json");
      writeFileSync(file, body);
      const r = await runCli(["sign", "discord", "-c", config, "--body", file, "--private-key", appKeyFile()]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return headersOf(r.stdout);
    }

    it("accepts and delivers what sign --private-key signs", async () => {
      const res = await post(`${daemon.url}/hooks/discord`, interaction, await signed(interaction));
      expect(res.status).toBe(202);
      await waitFor(() => sink.requests.find((r) => r.url === "/discord"), "the discord delivery", 20_000);
    });

    it("answers a signed PING with a PONG and delivers nothing", async () => {
      const ping = JSON.stringify({ id: "1180000000000000002", application_id: "42", type: 1, token: "t", version: 1 });
      const res = await post(`${daemon.url}/hooks/discord`, ping, await signed(ping));
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ type: 1 });
    });

    it("refuses a changed body, another key, a missing or malformed signature, with the reason logged and never a 5xx", async () => {
      const headers = await signed(interaction);
      expect((await post(`${daemon.url}/hooks/discord`, interaction.replace("deploy", "destroy"), headers)).status).toBe(401);
      await refusedWith("signature_mismatch");
      const ts = String(Math.floor(Date.now() / 1000));
      const forged = sign(null, Buffer.from(ts + interaction), stranger.privateKey).toString("hex");
      const res = await post(`${daemon.url}/hooks/discord`, interaction, { "X-Signature-Ed25519": forged, "X-Signature-Timestamp": ts });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: "verification failed" });
      expect((await post(`${daemon.url}/hooks/discord`, interaction, { "X-Signature-Timestamp": ts })).status).toBe(401);
      await refusedWith("missing_signature");
      expect((await post(`${daemon.url}/hooks/discord`, interaction, { ...headers, "x-signature-ed25519": "zz" })).status).toBe(401);
      await refusedWith("malformed_signature");
      // A stale but genuine request: signed six minutes ago.
      const old = String(Math.floor(Date.now() / 1000) - 360);
      const stale = sign(null, Buffer.from(old + interaction), app.privateKey).toString("hex");
      expect(
        (await post(`${daemon.url}/hooks/discord`, interaction, { "X-Signature-Ed25519": stale, "X-Signature-Timestamp": old })).status,
      ).toBe(401);
      await refusedWith("timestamp_out_of_tolerance");
    });

    it("switchyard test --sign --private-key signs a dry run; without the key it says what it needs", async () => {
      const file = join(dir, "ping.json");
      writeFileSync(file, JSON.stringify({ id: "1", application_id: "42", type: 1, token: "t", version: 1 }));
      const r = await runCli(["test", "discord", "-c", config, "--body", file, "--sign", "--private-key", appKeyFile()]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("verification: ok");
      expect(r.stdout).toMatch(/provider handshake, answered with: \{\s*"type": 1\s*\}/);
      expect(r.stdout).toContain("answer: 200");
      const bare = await runCli(["test", "discord", "-c", config, "--body", file, "--sign"]);
      expect(bare.code).toBe(1);
      expect(bare.stderr).toContain("--private-key");
    });

    it("sign refuses without --private-key, or with a key that is not the route's pair", async () => {
      const file = join(dir, "interaction.json");
      writeFileSync(file, interaction);
      const none = await runCli(["sign", "discord", "-c", config, "--body", file]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("--private-key");
      const otherFile = join(dir, "stranger.pem");
      writeFileSync(otherFile, stranger.privateKey.export({ format: "pem", type: "pkcs8" }));
      const wrong = await runCli(["sign", "discord", "-c", config, "--body", file, "--private-key", otherFile]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("not the pair");
      const garbage = await runCli(["sign", "discord", "-c", config, "--body", file, "--private-key", file]);
      expect(garbage.code).toBe(1);
      expect(garbage.stderr).toContain("not a PEM private key");
    });
  });

  describe("aws-sns", () => {
    const snsText = (m: Record<string, string>) =>
      (m.Type === "Notification"
        ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
      )
        .filter((f) => m[f] !== undefined)
        .map((f) => `${f}\n${m[f]}\n`)
        .join("");
    const signedBody = (m: Record<string, string>) =>
      JSON.stringify({ ...m, Signature: sign("sha256", Buffer.from(snsText(m)), sns.signingKey).toString("base64") });
    const confirmation = (over: Record<string, string> = {}) => ({
      Type: "SubscriptionConfirmation",
      MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
      Token: "2336412f37",
      TopicArn: TOPIC,
      Message: "You have chosen to subscribe to the topic.",
      SubscribeURL: sns.subscribeUrl,
      Timestamp: new Date().toISOString(),
      SignatureVersion: "2",
      SigningCertURL: sns.certUrl,
      ...over,
    });
    const sendSns = (body: string) =>
      post(`${daemon.url}/hooks/sns`, body, { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification" });

    it("confirms a subscription by calling SNS back before answering", async () => {
      const res = await sendSns(signedBody(confirmation()));
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ status: "subscription confirmed", topic: TOPIC });
      expect(sns.confirmations).toHaveLength(1);
    });

    it("switchyard test only names the confirmation call, and makes none", async () => {
      const file = join(dir, "confirmation.json");
      writeFileSync(file, signedBody(confirmation({ MessageId: "m-dry" })));
      const before = sns.confirmations.length;
      const r = await runCli(["test", "sns", "-c", config, "--body", file], { NODE_EXTRA_CA_CERTS: sns.tlsCertFile });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("verification: ok");
      expect(r.stdout).toContain(`the daemon would first confirm the subscription to ${TOPIC} (GET its SubscribeURL) (a dry run does not)`);
      expect(sns.confirmations.length).toBe(before);
    });

    it("answers 502 when the confirmation call fails, so SNS sends it again", async () => {
      const res = await sendSns(signedBody(confirmation({ SubscribeURL: `https://${sns.host}/fail`, MessageId: "m-fail" })));
      expect(res.status).toBe(502);
      await waitFor(
        () => daemon.logs.find((l) => typeof l.msg === "string" && l.msg.startsWith("provider handshake failed")),
        "the warning",
      );
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metric(metrics, "switchyard_events_received_total", { route: "sns", outcome: "invalid" })).toBe(1);
      expect(metric(metrics, "switchyard_events_received_total", { route: "sns", outcome: "ignored" })).toBeGreaterThanOrEqual(1);
    });

    it("accepts and delivers a notification signed by sign --private-key, its JSON parsed whatever the Content-Type", async () => {
      const file = join(dir, "sns.json");
      writeFileSync(
        file,
        JSON.stringify({
          Type: "Notification",
          TopicArn: TOPIC,
          Subject: "ALARM",
          Message: '{"AlarmName":"disk"}',
          SigningCertURL: sns.certUrl,
        }),
      );
      const r = await runCli(["sign", "sns", "-c", config, "--body", file, "--private-key", sns.signingKeyFile]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const curl = r.stdout.trim().split("\n").at(-1) ?? "";
      // The signed message is inline in the curl line: --data-binary '<json>'.
      const body = /--data-binary '(.*)'$/.exec(curl)?.[1] ?? "";
      // As SNS sends it, as text/plain: the target's filter reads body.Type from the stored event all the same.
      const res = await post(`${daemon.url}/hooks/sns`, body, { ...headersOf(r.stdout), "content-type": "text/plain; charset=UTF-8" });
      expect(res.status).toBe(202);
      const delivered = await waitFor(() => sink.requests.find((q) => q.url === "/sns"), "the sns delivery", 20_000);
      expect(JSON.parse(delivered.body)).toMatchObject({ Type: "Notification", TopicArn: TOPIC, Subject: "ALARM" });
    });

    it("refuses untrusted certificate hosts, other topics, changed messages, with the reason logged and never a 5xx", async () => {
      const note = (over: Record<string, string>) =>
        signedBody({
          Type: "Notification",
          MessageId: `n-${Math.random()}`,
          TopicArn: TOPIC,
          Message: "hello",
          Timestamp: new Date().toISOString(),
          SignatureVersion: "2",
          SigningCertURL: sns.certUrl,
          ...over,
        });
      expect((await sendSns(note({ SigningCertURL: "https://evil.example.com/cert.pem" }))).status).toBe(401);
      await refusedWith("untrusted_url");
      expect((await sendSns(note({ SigningCertURL: `https://${sns.host}/SimpleNotificationService-gone.pem` }))).status).toBe(401);
      await refusedWith("certificate_unavailable");
      expect((await sendSns(note({ TopicArn: "arn:aws:sns:eu-west-1:999999999999:other" }))).status).toBe(401);
      await refusedWith("topic_not_allowed");
      expect((await sendSns(note({}).replace('"hello"', '"hullo"'))).status).toBe(401);
      await refusedWith("signature_mismatch");
      const before = sns.confirmations.length;
      expect((await sendSns(signedBody(confirmation({ TopicArn: "arn:aws:sns:us-east-1:999999999999:x", MessageId: "m-x" })))).status).toBe(
        401,
      );
      expect(sns.confirmations.length).toBe(before);
      expect((await sendSns("not json at all")).status).toBe(401);
    });
  });
});
