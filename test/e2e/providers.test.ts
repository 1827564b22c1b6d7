import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LogLine,
  metric,
  post,
  type RunningDaemon,
  runCli,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * Issue 17's ingress changes through the built daemon: Meta's GET handshake (and every other
 * GET still 405), `allow_from` with `server.trust_proxy`, Basic auth whose credential is never
 * stored or forwarded, a Plex multipart body, and each new scheme refusing bad requests with
 * 401 and its reason in the log, never a 5xx.
 */

const META_SECRET = "meta-app-secret";
const VERIFY_TOKEN = "meatyhamhock";
const BASIC = `Basic ${Buffer.from("alertmanager:pw-alert").toString("base64")}`;
const BOUNDARY = "------------------------a1b2c3d4e5f60718";

/** What Plex Media Server posts: its JSON in a `payload` part, a JPEG thumbnail beside it. */
function plexBody(event: string, thumbBytes: number): Buffer {
  const payload = JSON.stringify({
    event,
    user: true,
    owner: true,
    Account: { title: "hugo" },
    Metadata: { type: "movie", title: "Heat" },
  });
  const thumb = Buffer.alloc(thumbBytes, 0xff);
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="payload"\r\nContent-Type: application/json\r\n\r\n${payload}\r\n`),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="thumb"; filename="thumb.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    thumb,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** Every new scheme, with a header value it must refuse as malformed and one it must refuse as wrong. */
const SVIX = { "svix-id": "msg_1", "svix-timestamp": String(Math.floor(Date.now() / 1000)) };
const REFUSING: { type: string; verify: string; malformed: Record<string, string>; wrong: Record<string, string> }[] = [
  {
    type: "meta",
    verify: "{ type: meta, secret: s }",
    malformed: { "x-hub-signature-256": "sha256=zz" },
    wrong: { "x-hub-signature-256": `sha256=${"ab".repeat(32)}` },
  },
  {
    type: "typeform",
    verify: "{ type: typeform, secret: s }",
    malformed: { "typeform-signature": "sha256=!!" },
    wrong: { "typeform-signature": `sha256=${Buffer.alloc(32).toString("base64")}` },
  },
  {
    type: "intercom",
    verify: "{ type: intercom, secret: s }",
    malformed: { "x-hub-signature": "sha1=zz" },
    wrong: { "x-hub-signature": `sha1=${"ab".repeat(20)}` },
  },
  {
    type: "vercel",
    verify: "{ type: vercel, secret: s }",
    malformed: { "x-vercel-signature": "zz" },
    wrong: { "x-vercel-signature": "ab".repeat(20) },
  },
  {
    type: "sentry",
    verify: "{ type: sentry, secret: s }",
    malformed: { "sentry-hook-signature": "zz" },
    wrong: { "sentry-hook-signature": "ab".repeat(32) },
  },
  {
    type: "jira",
    verify: "{ type: jira, secret: s }",
    malformed: { "x-hub-signature": "sha256=zz" },
    wrong: { "x-hub-signature": `sha256=${"ab".repeat(32)}` },
  },
  {
    type: "circleci",
    verify: "{ type: circleci, secret: s }",
    malformed: { "circleci-signature": "v1=zz" },
    wrong: { "circleci-signature": `v1=${"ab".repeat(32)}` },
  },
  {
    type: "pagerduty",
    verify: "{ type: pagerduty, secret: s }",
    malformed: { "x-pagerduty-signature": "v1=zz" },
    wrong: { "x-pagerduty-signature": `v1=${"ab".repeat(32)}` },
  },
  {
    type: "svix",
    verify: `{ type: svix, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }`,
    malformed: { ...SVIX, "svix-signature": "v1,!!" },
    wrong: { ...SVIX, "svix-signature": `v1,${Buffer.alloc(32).toString("base64")}` },
  },
  {
    type: "resend",
    verify: `{ type: resend, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }`,
    malformed: { ...SVIX, "svix-signature": "v1,!!" },
    wrong: { ...SVIX, "svix-signature": `v1,${Buffer.alloc(32).toString("base64")}` },
  },
  {
    type: "clerk",
    verify: `{ type: clerk, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }`,
    malformed: { ...SVIX, "svix-signature": "v1,!!" },
    wrong: { ...SVIX, "svix-signature": `v1,${Buffer.alloc(32).toString("base64")}` },
  },
  {
    type: "basic",
    verify: "{ type: basic, username: u, secret: s }",
    malformed: { authorization: "Basic !!" },
    wrong: { authorization: `Basic ${Buffer.from("u:guess").toString("base64")}` },
  },
  {
    type: "gitlab",
    verify: "{ type: gitlab, secret: s }",
    malformed: {
      ...Object.fromEntries(Object.entries(SVIX).map(([k, v]) => [k.replace("svix", "webhook"), v])),
      "webhook-signature": "v1,!!",
    },
    wrong: { "x-gitlab-token": "guess" },
  },
];

describe("e2e: provider handshakes, allow_from, Basic auth and multipart bodies", () => {
  let sink: Sink;
  let daemon: RunningDaemon;
  let config: string;

  beforeAll(async () => {
    const dir = tempDir();
    sink = await startSink();
    const target = (name: string) => `targets: [{ name: sink, type: http, url: "${sink.url}/${name}" }]`;
    config = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0, trust_proxy: 1, body_limit: 256kb }
store: { path: ./data/switchyard.db }
routes:
  - name: meta
    path: /hooks/meta
    verify: { type: meta, secret: ${META_SECRET}, verify_token: ${VERIFY_TOKEN} }
    ${target("meta")}
  - name: alerts
    path: /hooks/alerts
    verify: { type: basic, username: alertmanager, secret: pw-alert }
    ${target("alerts")}
  - name: office
    path: /hooks/office
    allow_from: [10.0.0.0/8, "fd00::/8"]
    verify: { type: token, secret: office-token }
    ${target("office")}
  - name: local
    path: /hooks/local
    allow_from: [127.0.0.1, "::1"]
    verify: { type: token, secret: local-token }
    ${target("local")}
  - name: plex
    path: /hooks/plex
    verify: { type: token, query: token, secret: plex-token }
    filter: body.payload.event = "media.play"
    ${target("plex")}
  - name: pagerduty
    path: /hooks/pagerduty
    verify: { type: pagerduty, secret: pd-secret }
    ${target("pagerduty")}
  - name: svix
    path: /hooks/svix
    verify: { type: svix, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
    ${target("svix")}
${REFUSING.map((r) => `  - name: r-${r.type}\n    path: /hooks/r-${r.type}\n    verify: ${r.verify}\n    ${target(`r-${r.type}`)}\n`).join("")}`,
    );
    daemon = await startDaemon(config, { SWITCHYARD_LOG_LEVEL: "info" });
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  const lines = (msg: RegExp, fields: Record<string, unknown> = {}): LogLine[] =>
    daemon.logs.filter((l) => msg.test(l.msg) && Object.entries(fields).every(([k, v]) => l[k] === v));
  const metrics = async () => (await fetch(`${daemon.url}/metrics`)).text();

  it("answers Meta's GET verification request with the challenge as text, and stores nothing", async () => {
    const url = `${daemon.url}/hooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("1158201444");
    expect(metric(await metrics(), "switchyard_events_received_total", { route: "meta", outcome: "ignored" })).toBe(1);
    const events = await runCli(["events", "--route", "meta", "--json", "-c", config]);
    expect(JSON.parse(events.stdout)).toEqual([]);
  });

  it("refuses a wrong verify token with 403, logged with its reason, and keeps any other GET at 405", async () => {
    const wrong = await fetch(`${daemon.url}/hooks/meta?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess`);
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain("1");
    const plain = await fetch(`${daemon.url}/hooks/meta`);
    expect(plain.status).toBe(405);
    expect(plain.headers.get("allow")).toBe("POST");
    // A scheme without a GET handshake answers 405 even to Meta's query.
    expect((await fetch(`${daemon.url}/hooks/alerts?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x`)).status).toBe(405);
    await waitFor(() => lines(/GET handshake refused/, { route: "meta" }).length === 1, "the refused handshake's log line");
    expect(lines(/GET handshake refused/)[0]).toMatchObject({ status: 403, reason: "signature_mismatch" });
  });

  it("accepts and delivers a Meta event signed with the app secret", async () => {
    const body = JSON.stringify({ object: "page", entry: [{ id: "1", time: 1 }] });
    const signature = `sha256=${createHmac("sha256", META_SECRET).update(body).digest("hex")}`;
    expect((await post(`${daemon.url}/hooks/meta`, body, { "x-hub-signature-256": signature })).status).toBe(202);
    await waitFor(() => sink.requests.some((r) => r.url === "/meta"), "the meta delivery");
  });

  it("takes Basic auth, and neither stores nor forwards the Authorization header", async () => {
    const body = JSON.stringify({ status: "firing", alerts: [{ labels: { alertname: "DiskFull" } }] });
    const res = await post(`${daemon.url}/hooks/alerts`, body, { authorization: BASIC });
    expect(res.status).toBe(202);
    const id = (res.json() as { id: string }).id;
    const delivered = await waitFor(() => sink.requests.find((r) => r.url === "/alerts"), "the alerts delivery");
    expect(JSON.parse(delivered.body)).toMatchObject({ status: "firing" });
    expect(delivered.headers.authorization).toBeUndefined();
    const shown = await runCli(["events", "show", id, "--json", "-c", config]);
    const stored = JSON.parse(shown.stdout) as { event: { headers: Record<string, string> } };
    expect(stored.event.headers.authorization).toBeUndefined();
    expect(shown.stdout).not.toContain(BASIC.slice("Basic ".length));
    expect(daemon.logs.map((l) => JSON.stringify(l)).join("\n")).not.toContain("pw-alert");
  });

  it("refuses an address outside allow_from with 403, counted as rejected and logged with the address", async () => {
    const before = metric(await metrics(), "switchyard_events_received_total", { route: "office", outcome: "rejected" }) ?? 0;
    const res = await post(`${daemon.url}/hooks/office`, "{}", { authorization: "Bearer office-token" });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: "forbidden" });
    expect(metric(await metrics(), "switchyard_events_received_total", { route: "office", outcome: "rejected" })).toBe(before + 1);
    await waitFor(() => lines(/allow_from/, { route: "office" }).length === 1, "the allow_from log line");
    expect(lines(/allow_from/, { route: "office" })[0]).toMatchObject({ status: 403, reason: "address_not_allowed", address: "127.0.0.1" });
  });

  it("with trust_proxy: 1 judges the address the proxy saw, in X-Forwarded-For", async () => {
    const viaProxy = (xff: string, path = "/hooks/office", token = "office-token") =>
      post(`${daemon.url}${path}`, JSON.stringify({ from: xff }), { authorization: `Bearer ${token}`, "x-forwarded-for": xff });
    expect((await viaProxy("10.1.2.3")).status).toBe(202);
    // The client wrote the leftmost entry; the proxy appended what it saw: only that one counts.
    expect((await viaProxy("10.9.9.9, 192.0.2.7")).status).toBe(403);
    expect((await viaProxy("192.0.2.7, 10.1.2.3")).status).toBe(202);
    expect((await viaProxy("fd00::42")).status).toBe(202);
    expect((await viaProxy("::ffff:10.0.0.8")).status).toBe(202);
    // The loopback-only route refuses what the proxy says came from elsewhere, takes a direct request.
    expect((await viaProxy("10.1.2.3", "/hooks/local", "local-token")).status).toBe(403);
    expect((await post(`${daemon.url}/hooks/local`, "{}", { authorization: "Bearer local-token" })).status).toBe(202);
  });

  it("checks the signature after allow_from, and the address before the signature", async () => {
    const res = await post(`${daemon.url}/hooks/office`, "{}", { authorization: "Bearer wrong", "x-forwarded-for": "10.1.2.3" });
    expect(res.status).toBe(401);
  });

  it("parses Plex's multipart body: the payload part as JSON, the thumbnail as name, type and size", async () => {
    const body = plexBody("media.play", 40_000);
    const res = await fetch(`${daemon.url}/hooks/plex?token=plex-token`, {
      method: "POST",
      body,
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(res.status).toBe(202);
    const delivered = await waitFor(() => sink.requests.find((r) => r.url === "/plex"), "the plex delivery");
    expect(JSON.parse(delivered.body)).toEqual({
      payload: { event: "media.play", user: true, owner: true, Account: { title: "hugo" }, Metadata: { type: "movie", title: "Heat" } },
      thumb: { name: "thumb.jpg", type: "image/jpeg", size: 40_000 },
    });
    // The route filter reads the parsed payload.
    const paused = await fetch(`${daemon.url}/hooks/plex?token=plex-token`, {
      method: "POST",
      body: plexBody("media.pause", 10),
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(await paused.json()).toEqual({ status: "ignored" });
  });

  it("answers 400 to a multipart body cut short, and 413 to one over body_limit", async () => {
    const full = plexBody("media.play", 100);
    const cut = await fetch(`${daemon.url}/hooks/plex?token=plex-token`, {
      method: "POST",
      body: full.subarray(0, full.length - 30),
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(cut.status).toBe(400);
    expect(await cut.json()).toEqual({ error: "body is not valid multipart/form-data" });
    const big = await fetch(`${daemon.url}/hooks/plex?token=plex-token`, {
      method: "POST",
      body: plexBody("media.play", 300 * 1024),
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(big.status).toBe(413);
    await waitFor(() => lines(/multipart/, { route: "plex", reason: "body_not_multipart" }).length === 1, "the 400 log line");
  });

  it("answers 401 with the reason in the log, never a 5xx, to a bad PagerDuty or Svix request", async () => {
    const body = JSON.stringify({ event: { id: "E1", event_type: "incident.triggered" } });
    const good = `v1=${createHmac("sha256", "pd-secret").update(body).digest("hex")}`;
    const wrongKey = `v1=${createHmac("sha256", "other").update(body).digest("hex")}`;
    const attempts: [string, Record<string, string>, string][] = [
      ["/hooks/pagerduty", { "x-pagerduty-signature": good }, body.replace("E1", "E2")],
      ["/hooks/pagerduty", { "x-pagerduty-signature": wrongKey }, body],
      ["/hooks/pagerduty", {}, body],
      ["/hooks/pagerduty", { "x-pagerduty-signature": "v1=nothex" }, body],
      ["/hooks/svix", { "svix-id": "msg_1", "svix-timestamp": "1", "svix-signature": "v1,AAAA" }, body],
    ];
    for (const [path, headers, payload] of attempts) expect((await post(`${daemon.url}${path}`, payload, headers)).status).toBe(401);
    expect((await post(`${daemon.url}/hooks/pagerduty`, body, { "x-pagerduty-signature": `${wrongKey},${good}` })).status).toBe(202);
    await waitFor(
      () =>
        ["signature_mismatch", "missing_signature", "malformed_signature"].every(
          (r) => lines(/verification failed/, { route: "pagerduty", reason: r }).length > 0,
        ),
      "each refusal's reason",
    );
    expect(daemon.logs.filter((l) => typeof l.status === "number" && (l.status as number) >= 500)).toEqual([]);
  });

  it("answers 401 to every new scheme's missing, malformed and wrong signatures, each reason logged, never a 5xx", async () => {
    const body = JSON.stringify({ id: "evt_1", event: { id: "evt_1" }, alertId: "a1" });
    for (const r of REFUSING) {
      const url = `${daemon.url}/hooks/r-${r.type}`;
      expect((await post(url, body)).status, `${r.type} without a signature`).toBe(401);
      expect((await post(url, body, r.malformed)).status, `${r.type} malformed`).toBe(401);
      expect((await post(url, body, r.wrong)).status, `${r.type} wrong`).toBe(401);
    }
    await waitFor(
      () =>
        REFUSING.every((r) =>
          ["missing_signature", "malformed_signature", "signature_mismatch"].every(
            (reason) => lines(/verification failed/, { route: `r-${r.type}`, reason }).length === 1,
          ),
        ),
      "three refusal reasons per scheme",
    );
    const text = await metrics();
    for (const r of REFUSING)
      expect(metric(text, "switchyard_events_received_total", { route: `r-${r.type}`, outcome: "rejected" })).toBe(3);
    expect(daemon.logs.filter((l) => typeof l.status === "number" && (l.status as number) >= 500)).toEqual([]);
  });

  it("lists every scheme with `switchyard schemes`, and as JSON", async () => {
    const text = await runCli(["schemes"]);
    expect(text.code).toBe(0);
    for (const type of [
      "meta",
      "typeform",
      "intercom",
      "vercel",
      "sentry",
      "jira",
      "circleci",
      "pagerduty",
      "svix",
      "resend",
      "clerk",
      "meraki",
      "basic",
    ]) {
      expect(text.stdout).toMatch(new RegExp(`^${type} +\\S`, "m"));
    }
    expect(text.stdout).toMatch(/options: secret \| secrets \| secret_file, username \(required\)/);
    const json = JSON.parse((await runCli(["schemes", "--json"])).stdout) as { type: string; options: { name: string }[] }[];
    expect(json.find((s) => s.type === "meta")?.options.map((o) => o.name)).toEqual(["verify_token"]);
    expect(json.map((s) => s.type)).toContain("standard-webhooks");
  });
});
