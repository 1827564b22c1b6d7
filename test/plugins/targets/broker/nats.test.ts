import { connect, type NatsConnection, StorageType } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, runCli, startDaemon, tempDir, waitFor, writeConfig } from "../../../e2e/harness.js";
import { type Broker, requireProgram, sendAcrossBrokerRestart, startNats } from "./broker-harness.js";

/**
 * The nats target against a real nats-server with JetStream, through the built daemon: the
 * stream's acknowledgement and `Nats-Msg-Id`, the core NATS fallback, a server that goes away
 * mid-stream, and wrong credentials.
 */
const natsServer = requireProgram("nats-server", "nats target");
const PASSWORD = "s3cret-nats-pass";

function config(url: string): string {
  return `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: gh
    path: /gh
    verify: { type: none }
    targets:
      - name: stream
        type: nats
        url: ${url}
        user: switchyard
        password: \${NATS_PASSWORD}
        subject_expression: '"events." & body.kind'
        retry: { attempts: 1000, backoff: 100ms, max_backoff: 500ms }
  - name: loose
    path: /loose
    verify: { type: none }
    targets:
      - name: plain
        type: nats
        url: ${url}
        user: switchyard
        password: \${NATS_PASSWORD}
        subject: loose.hello
        transform: '{ "hello": body.name }'
  - name: bad
    path: /bad
    verify: { type: none }
    targets:
      - name: wrong
        type: nats
        url: ${url}
        user: switchyard
        password: not-the-\${NATS_PASSWORD}
        subject: events.bad
        retry: { attempts: 2, backoff: 100ms }
`;
}

describe.skipIf(!natsServer)("nats target (real nats-server -js)", () => {
  let broker: Broker & { url: string };
  let daemon: RunningDaemon;
  let file: string;

  const client = () => connect({ servers: broker.url.replace("nats://", ""), user: "switchyard", pass: PASSWORD });
  /** Event id (Nats-Msg-Id) → subject of every message in the stream. */
  async function streamed(): Promise<Map<string, string>> {
    const nc = await client();
    try {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info("EVENTS");
      const found = new Map<string, string>();
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage("EVENTS", { seq });
        found.set(m.header.get("Nats-Msg-Id"), m.subject);
      }
      return found;
    } finally {
      await nc.close();
    }
  }

  beforeAll(async () => {
    broker = await startNats(natsServer ?? "nats-server", PASSWORD);
    const nc = await client();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "EVENTS", subjects: ["events.>"], storage: StorageType.File });
    await nc.close();
    file = writeConfig(tempDir(), config(broker.url));
    daemon = await startDaemon(file, { NATS_PASSWORD: PASSWORD });
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await broker?.destroy();
  });

  const scrape = async () => (await fetch(`${daemon.adminUrl}/metrics`)).text();
  /** Nothing waiting or in flight: every delivery is done (or dead). */
  const settled = (text: string) =>
    metric(text, "switchyard_queue_depth", { state: "pending" }) === 0 &&
    metric(text, "switchyard_queue_depth", { state: "retrying" }) === 0;

  it("stores each event in the stream that takes its computed subject, with the event id as Nats-Msg-Id", async () => {
    await waitFor(async () => metric(await scrape(), "switchyard_target_connected", { route: "gh", target: "stream" }) === 1, "connected");
    const res = await post(`${daemon.url}/gh`, JSON.stringify({ kind: "push" }));
    expect(res.status).toBe(202);
    const { id } = res.json() as { id: string };
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "gh", target: "stream", outcome: "success" }) === 1,
      "success",
    );
    expect((await streamed()).get(id)).toBe("events.push");
    // The stream drops a second copy of the same event (a redelivery after a lost ack).
    const nc = await client();
    try {
      const ack = await nc.jetstream().publish("events.push", new TextEncoder().encode("{}"), { msgID: id });
      expect(ack.duplicate).toBe(true);
    } finally {
      await nc.close();
    }
  });

  it("a subject no stream takes goes out with core NATS to the subscribers connected, with the event's headers", async () => {
    const nc: NatsConnection = await client();
    try {
      const sub = nc.subscribe("loose.>", { max: 1 });
      await nc.flush();
      const res = await post(`${daemon.url}/loose`, JSON.stringify({ name: "world" }));
      const { id } = res.json() as { id: string };
      for await (const m of sub) {
        expect(m.subject).toBe("loose.hello");
        expect(JSON.parse(new TextDecoder().decode(m.data))).toEqual({ hello: "world" });
        expect(m.headers?.get("switchyard-event-id")).toBe(id);
        expect(m.headers?.get("switchyard-route")).toBe("loose");
      }
      await waitFor(() => daemon.logs.some((l) => l.msg.startsWith("no JetStream stream takes this subject")), "the warning");
    } finally {
      await nc.close();
    }
  });

  it("a server stopped mid-stream and restarted: every accepted event is in the stream", async () => {
    const ids = await sendAcrossBrokerRestart(daemon, broker, {
      path: "/gh",
      body: (i) => ({ kind: "tag", n: i }),
      route: "gh",
      target: "stream",
    });
    await waitFor(
      async () => {
        if (!settled(await scrape())) return false;
        const inStream = await streamed();
        return ids.every((id) => inStream.get(id) === "events.tag");
      },
      "every event in the stream",
      60_000,
    );
  }, 90_000);

  it("wrong credentials: retried, then dead; the error is logged without the password", async () => {
    expect((await post(`${daemon.url}/bad`, "{}")).status).toBe(202);
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "bad", target: "wrong", outcome: "dead" }) === 1,
      "dead",
    );
    const refused = daemon.logs.find((l) => l.target === "wrong" && l.msg === "cannot connect to the broker; retrying");
    expect(String(refused?.err)).toMatch(/authorization violation/i);
    expect(JSON.stringify(daemon.logs) + daemon.stderr.join("")).not.toContain(PASSWORD);
  });

  it("check warns that core NATS keeps nothing", async () => {
    const f = writeConfig(tempDir(), config(broker.url).replace("subject: loose.hello", "subject: loose.hello\n        jetstream: false"));
    const r = await runCli(["check", "-c", f], { NATS_PASSWORD: PASSWORD });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/core NATS keeps nothing/);
  });
});
