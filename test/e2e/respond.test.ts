import { createHmac } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import twilioSdk from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedis, startRedis } from "../store/redis-harness.js";
import {
  cleanupAfterEach,
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
 * `respond`: the route decides what the provider hears. The built daemon, a real script and an
 * HTTP sink as targets, requests signed the way Slack and Twilio document (Twilio with its SDK),
 * and the attempt log read back with `switchyard events show`.
 */

const SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const TWILIO_TOKEN = "twilio-auth-token-e2e";
const TWILIO_URL = "https://hooks.example.com/twilio/sms";
const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Got it: lights off</Message></Response>';

/** A slash command's handler: answers Slack's JSON, or fails when told to. */
const REPLY_SCRIPT = `#!/bin/sh
if [ "$1" = fail ]; then echo "cannot deploy" >&2; exit 1; fi
printf '{"response_type":"in_channel","text":"Deploying %s for %s"}' "$1" "$2"
`;

/** Signed as https://docs.slack.dev/authentication/verifying-requests-from-slack says: v0:timestamp:body, HMAC-SHA256. */
function slackHeaders(body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac("sha256", SLACK_SECRET).update(`v0:${ts}:${body}`).digest("hex")}`;
  return { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": signature };
}

function slashCommand(text: string): string {
  return new URLSearchParams({
    token: "gIkuvaNzQIHg97ATvDxqgjtO",
    team_id: "T0001",
    channel_id: "C2147483705",
    user_id: "U2147483697",
    user_name: "steve",
    command: "/deploy",
    text,
    response_url: "https://hooks.slack.com/commands/1234/5678",
    trigger_id: "13345224609.738474920.8088930838d88f008e0",
  }).toString();
}

interface Shown {
  deliveries: {
    target: string;
    state: string;
    attempts: number;
    attemptLog: { attempt: number; outcome: string; status: number | null }[];
  }[];
}

async function shown(file: string, id: string): Promise<Shown> {
  const r = await runCli(["events", "show", id, "--json", "-c", file]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as Shown;
}

const CONFIG = `
server: { listen: 127.0.0.1:0, body_limit: 4kb }
store: { path: ./data/switchyard.db }
routes:
  - name: slash
    path: /slack/deploy
    verify: { type: slack, secret: "\${SLACK_SECRET}" }
    targets:
      - name: reply
        type: exec
        command: [./reply.sh]
        args: [body.text, body.user_name]
        retry: { attempts: 2, backoff: 50ms, max_backoff: 100ms }
    respond:
      target: reply
      timeout: 20s
      content_type: application/json
      on_failure: { status: 200, headers: { Content-Type: application/json }, body: '{ "text": "Deploy of " & body.text & " failed; retrying" }' }
  - name: slow
    path: /hooks/slow
    verify: { type: none }
    targets:
      - { name: build, type: http, url: "\${SINK_URL}/slow", timeout: 60s }
    respond: { target: build, timeout: 300ms }
  - name: flaky
    path: /hooks/flaky
    verify: { type: none }
    targets:
      - { name: api, type: http, url: "\${SINK_URL}/flaky", retry: { attempts: 3, backoff: 50ms, max_backoff: 100ms } }
    respond:
      target: api
      timeout: 20s
      on_failure: { status: 502, body: '"not now, retrying " & body.job' }
  - name: sms
    path: /twilio/sms
    verify: { type: twilio, secret: "\${TWILIO_TOKEN}", url: "${TWILIO_URL}" }
    targets:
      - { name: twiml, type: http, url: "\${SINK_URL}/twiml" }
    respond: { target: twiml, timeout: 20s, headers: { Cache-Control: no-store } }
  - name: big
    path: /hooks/big
    verify: { type: none }
    targets: [{ name: api, type: http, url: "\${SINK_URL}/big" }]
    respond: { target: api, timeout: 20s, on_failure: { status: 500 } }
  - name: fixed
    path: /hooks/fixed
    verify: { type: none }
    filter: $not(body.kind = "noise")
    targets: [{ name: log, type: http, url: "\${SINK_URL}/fixed" }]
    respond:
      status: 200
      headers: { Content-Type: application/json, X-Handled-By: switchyard }
      body: '{ "text": "Deploying " & body.text }'
      ignored: { status: 200, body: '"not for me: " & body.kind' }
  - name: broken
    path: /hooks/broken
    verify: { type: none }
    targets: [{ name: log, type: http, url: "\${SINK_URL}/broken" }]
    respond: { body: '$number(body.n)' }
`;

describe("e2e: respond, the route's answer", { timeout: 120_000 }, () => {
  let dir: string;
  let file: string;
  let sink: Sink;
  let daemon: RunningDaemon;
  /** Lets the slow target answer. */
  let releaseSlow: () => void = () => {};
  const slowReleased = new Promise<void>((r) => {
    releaseSlow = r;
  });
  let flakyCalls = 0;

  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, "reply.sh"), REPLY_SCRIPT);
    chmodSync(join(dir, "reply.sh"), 0o755);
    sink = await startSink();
    sink.respond = async (req, res) => {
      const path = req.url.split("?")[0];
      if (path === "/slow") {
        await slowReleased;
        res.writeHead(200).end("built");
      } else if (path === "/flaky") {
        flakyCalls++;
        if (flakyCalls === 1) res.writeHead(500).end("database is restarting");
        else res.writeHead(200).end("ok");
      } else if (path === "/twiml") {
        // X-Hop is hop-by-hop by naming it in Connection: it must not reach the provider.
        res.writeHead(200, { "Content-Type": "text/xml", "X-Twiml-Source": "sink", Connection: "keep-alive, X-Hop", "X-Hop": "1" });
        res.end(TWIML);
      } else if (path === "/big") res.writeHead(200, { "Content-Type": "text/plain" }).end("x".repeat(5000));
      else res.writeHead(200).end("ok");
    };
    file = writeConfig(dir, CONFIG);
    daemon = await startDaemon(file, { SINK_URL: sink.url, SLACK_SECRET, TWILIO_TOKEN });
  });

  afterAll(async () => {
    releaseSlow();
    await daemon?.stop();
    await sink?.close();
  });

  it("answers a Slack slash command with the JSON its exec target prints, and records that attempt", async () => {
    const body = slashCommand("api to production");
    const r = await fetch(`${daemon.url}/slack/deploy`, { method: "POST", body, headers: slackHeaders(body) });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(await r.json()).toEqual({ response_type: "in_channel", text: "Deploying api to production for steve" });

    // The answering attempt is attempt 1 of the delivery, recorded like any other.
    const events = JSON.parse((await runCli(["events", "--route", "slash", "--json", "-c", file])).stdout) as { id: string }[];
    expect(events).toHaveLength(1);
    const id = events[0]?.id ?? "";
    const delivered = await waitFor(async () => {
      const s = await shown(file, id);
      return s.deliveries[0]?.state === "delivered" ? s : undefined;
    }, "the delivery to be recorded");
    expect(delivered.deliveries[0]).toMatchObject({ target: "reply", attempts: 1, attemptLog: [{ attempt: 1, outcome: "delivered" }] });
  });

  it("answers on_failure when the exec target exits non-zero, and retries it", async () => {
    const body = slashCommand("fail");
    const r = await fetch(`${daemon.url}/slack/deploy`, { method: "POST", body, headers: slackHeaders(body) });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ text: "Deploy of fail failed; retrying" });
    const events = JSON.parse((await runCli(["events", "--route", "slash", "--json", "-c", file])).stdout) as {
      id: string;
      deliveries: { state: string }[];
    }[];
    const failing = events.find((e) => e.deliveries[0]?.state !== "delivered");
    const dead = await waitFor(async () => {
      const s = await shown(file, failing?.id ?? "");
      return s.deliveries[0]?.state === "dead" ? s : undefined;
    }, "the second attempt");
    expect(dead.deliveries[0]?.attemptLog.map((a) => a.outcome)).toEqual(["retry", "dead"]);
  });

  it("answers the fallback when the target is slow, and still delivers", async () => {
    const r = await post(`${daemon.url}/hooks/slow`, '{"job":"build-42"}');
    // Today's 202: the event is stored and its delivery goes on.
    expect(r.status).toBe(202);
    const { id } = r.json() as { id: string };
    expect(r.json()).toEqual({ status: "accepted", id });
    expect(sink.requests.filter((q) => q.url === "/slow")).toHaveLength(0);
    releaseSlow();
    await waitFor(() => sink.requests.find((q) => q.url === "/slow"), "the slow delivery");
    const delivered = await waitFor(async () => {
      const s = await shown(file, id);
      return s.deliveries[0]?.state === "delivered" ? s : undefined;
    }, "the slow delivery to be recorded");
    expect(delivered.deliveries[0]).toMatchObject({ attempts: 1, attemptLog: [{ attempt: 1, outcome: "delivered", status: 200 }] });
  });

  it("answers on_failure when the target fails, and the retry delivers", async () => {
    const r = await post(`${daemon.url}/hooks/flaky`, '{"job":"nightly"}');
    expect(r.status).toBe(502);
    expect(r.body).toBe("not now, retrying nightly");
    const delivered = await waitFor(() => sink.requests.find((q) => q.url === "/flaky"), "the retry");
    const id = String(delivered.headers["x-switchyard-event-id"]);
    const s = await waitFor(async () => {
      const x = await shown(file, id);
      return x.deliveries[0]?.state === "delivered" ? x : undefined;
    }, "the retry to be recorded");
    expect(s.deliveries[0]?.attemptLog).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "retry", status: 500 }),
      expect.objectContaining({ attempt: 2, outcome: "delivered", status: 200 }),
    ]);
  });

  it("passes on an HTTP target's TwiML answer (text/xml), without hop-by-hop headers", async () => {
    const fields = { From: "+15005550006", To: "+15005550001", Body: "lights off", MessageSid: "SM1234" };
    const body = new URLSearchParams(fields).toString();
    const signature = twilioSdk.getExpectedTwilioSignature(TWILIO_TOKEN, TWILIO_URL, fields);
    const r = await fetch(`${daemon.url}/twilio/sms`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/xml");
    expect(await r.text()).toBe(TWIML);
    expect(r.headers.get("x-twiml-source")).toBe("sink");
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("x-hop")).toBeNull();
  });

  it("answers on_failure for a target answer larger than body_limit, and logs it", async () => {
    const r = await post(`${daemon.url}/hooks/big`, "{}");
    expect(r.status).toBe(500);
    expect(r.json()).toMatchObject({ status: "accepted" });
    await waitFor(() => daemon.logs.find((l) => l.route === "big" && /larger than server.body_limit/.test(l.msg)), "the log line");
  });

  it("answers a fixed JSONata answer, and respond.ignored for a filtered event", async () => {
    const r = await fetch(`${daemon.url}/hooks/fixed`, {
      method: "POST",
      body: '{"text":"web"}',
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("x-handled-by")).toBe("switchyard");
    expect(await r.json()).toEqual({ text: "Deploying web" });
    await waitFor(() => sink.requests.find((q) => q.url === "/fixed"), "the fixed route's delivery");

    const ignored = await post(`${daemon.url}/hooks/fixed`, '{"kind":"noise"}');
    expect(ignored).toMatchObject({ status: 200, body: "not for me: noise" });
  });

  it("answers 500 and stores nothing when the answer's expression fails at run time", async () => {
    const r = await post(`${daemon.url}/hooks/broken`, '{"n":"not a number"}');
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ error: "route expression failed" });
    const events = JSON.parse((await runCli(["events", "--route", "broken", "--json", "-c", file])).stdout) as unknown[];
    expect(events).toEqual([]);
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metric(metrics, "switchyard_events_received_total", { route: "broken", outcome: "invalid" })).toBe(1);
  });

  it("counts how each waiting webhook was answered", async () => {
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    const answers = (route: string, answer: string) => metric(metrics, "switchyard_answers_total", { route, answer });
    expect([answers("slash", "target"), answers("slash", "on_failure"), answers("slash", "fallback")]).toEqual([1, 1, 0]);
    expect([answers("slow", "fallback"), answers("flaky", "on_failure"), answers("sms", "target"), answers("big", "on_failure")]).toEqual([
      1, 1, 1, 1,
    ]);
    // Only routes that wait for a target have the series.
    expect(answers("fixed", "target")).toBeUndefined();
  });
});

describe("e2e: respond survives a crash during the answering attempt", { timeout: 120_000 }, () => {
  const { track, later } = cleanupAfterEach();

  it("a daemon killed while the target is answering delivers the event after its restart", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    let calls = 0;
    let releaseFirst: () => void = () => {};
    const first = new Promise<void>((r) => {
      releaseFirst = r;
    });
    later(() => releaseFirst());
    sink.respond = async (_req, res) => {
      calls++;
      // The first attempt hangs until the daemon that made it is gone; then it fails.
      if (calls === 1) {
        await first;
        res.writeHead(500).end("too late");
      } else res.writeHead(200).end("deployed");
    };
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: deploy
    path: /hooks/deploy
    verify: { type: none }
    targets: [{ name: run, type: http, url: "\${SINK_URL}/run", timeout: 60s }]
    respond: { target: run, timeout: 60s }
`,
    );
    const daemon = track(await startDaemon(file, { SINK_URL: sink.url }));
    const answer = post(`${daemon.url}/hooks/deploy`, '{"ref":"main"}').catch((err: Error) => err);
    await waitFor(() => calls === 1, "the answering attempt to start");
    await daemon.stop("SIGKILL");
    // The provider hears no answer (and would send it again); the stored event is not lost.
    expect(await answer).toBeInstanceOf(Error);

    const again = track(await startDaemon(file, { SINK_URL: sink.url }));
    const delivered = await waitFor(() => sink.requests[0], "the delivery after the restart", 60_000);
    expect(delivered.body).toBe('{"ref":"main"}');
    await again.stop();
  });
});

describe.skipIf(!hasRedis)("e2e: respond on the Redis store", { timeout: 120_000 }, () => {
  const { track, later } = cleanupAfterEach();

  it("answers with the target's own answer, and the attempt is in the shared store's log", async () => {
    const redis = await startRedis();
    later(() => redis.destroy());
    const sink = track(await startSink());
    sink.respond = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"text":"deployed"}');
    };
    const file = writeConfig(
      tempDir(),
      `
server: { listen: 127.0.0.1:0 }
store: { type: redis, url: "${redis.url}", prefix: "respond-e2e" }
routes:
  - name: deploy
    path: /hooks/deploy
    verify: { type: none }
    targets: [{ name: run, type: http, url: "\${SINK_URL}/run" }]
    respond: { target: run, timeout: 20s }
`,
    );
    const daemon = track(await startDaemon(file, { SINK_URL: sink.url }));
    const r = await post(`${daemon.url}/hooks/deploy`, '{"ref":"main"}');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ text: "deployed" });
    const id = String(sink.requests[0]?.headers["x-switchyard-event-id"]);
    const s = await waitFor(async () => {
      const x = await shown(file, id);
      return x.deliveries[0]?.state === "delivered" ? x : undefined;
    }, "the attempt to be recorded");
    expect(s.deliveries[0]?.attemptLog).toEqual([expect.objectContaining({ attempt: 1, outcome: "delivered", status: 200 })]);
  });
});
