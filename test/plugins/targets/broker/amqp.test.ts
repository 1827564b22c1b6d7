import { type Channel, type ChannelModel, connect } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, startDaemon, tempDir, waitFor, writeConfig } from "../../../e2e/harness.js";
import { type Broker, requireProgram, sendAcrossBrokerRestart, startRabbit } from "./broker-harness.js";

/**
 * The amqp target against a real RabbitMQ, through the built daemon: publisher confirms and
 * message properties, an unroutable message (dead at once), a broker that goes away
 * mid-stream, and wrong credentials. The only RabbitMQ test file: its broker takes 10–30 s to
 * start on a loaded 2-core machine, and starts twice here (the restart).
 */
const rabbit = requireProgram("rabbitmq-server", "amqp target");
const WRONG = "not-the-guest-password";

function config(url: string): string {
  const wrong = url.replace("guest:guest@", `guest:${WRONG}@`);
  return `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: meraki
    path: /meraki
    verify: { type: none }
    targets:
      - name: rabbit
        type: amqp
        url: ${url}
        exchange: hooks
        routing_key_expression: '"meraki." & body.alertType'
        retry: { attempts: 1000, backoff: 100ms, max_backoff: 1s }
      - name: nowhere
        type: amqp
        url: ${url}
        exchange: hooks
        routing_key: nowhere.at.all
        filter: body.alertType = "unroutable"
        retry: { attempts: 5, backoff: 100ms }
  - name: bad
    path: /bad
    verify: { type: none }
    targets:
      - name: wrong
        type: amqp
        url: ${wrong}
        routing_key: events
        retry: { attempts: 2, backoff: 100ms }
`;
}

interface Got {
  eventId: unknown;
  routingKey: string;
  persistent: boolean;
  route: unknown;
  body: unknown;
}

describe.skipIf(!rabbit)("amqp target (real rabbitmq-server)", () => {
  let broker: Broker & { url: string; startedInMs: number };
  let daemon: RunningDaemon;

  /** Takes every message waiting in the queue. */
  async function drain(): Promise<Got[]> {
    const conn: ChannelModel = await connect(broker.url);
    try {
      const ch: Channel = await conn.createChannel();
      const got: Got[] = [];
      for (;;) {
        const m = await ch.get("events", { noAck: true });
        if (m === false) return got;
        got.push({
          eventId: m.properties.messageId,
          routingKey: m.fields.routingKey,
          persistent: m.properties.deliveryMode === 2,
          route: m.properties.headers?.["switchyard-route"],
          body: JSON.parse(m.content.toString()),
        });
      }
    } finally {
      await conn.close();
    }
  }

  beforeAll(async () => {
    broker = await startRabbit(rabbit ?? "rabbitmq-server");
    console.info(`rabbitmq-server took ${broker.startedInMs} ms to start`);
    const conn = await connect(broker.url);
    const ch = await conn.createChannel();
    await ch.assertExchange("hooks", "topic", { durable: true });
    await ch.assertQueue("events", { durable: true });
    await ch.bindQueue("events", "hooks", "meraki.#");
    await conn.close();
    daemon = await startDaemon(writeConfig(tempDir(), config(broker.url)));
  }, 180_000);

  afterAll(async () => {
    await daemon?.stop();
    await broker?.destroy();
  }, 60_000);

  const scrape = async () => (await fetch(`${daemon.adminUrl}/metrics`)).text();
  /** Nothing waiting or in flight: every delivery is done (or dead). */
  const settled = (text: string) =>
    metric(text, "switchyard_queue_depth", { state: "pending" }) === 0 &&
    metric(text, "switchyard_queue_depth", { state: "retrying" }) === 0;

  it("publishes with a publisher confirm: persistent, the event id as message id, the route in the headers", async () => {
    await waitFor(
      async () => metric(await scrape(), "switchyard_target_connected", { route: "meraki", target: "rabbit" }) === 1,
      "connected",
    );
    const res = await post(`${daemon.url}/meraki`, JSON.stringify({ alertType: "motion" }));
    expect(res.status).toBe(202);
    const { id } = res.json() as { id: string };
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "meraki", target: "rabbit", outcome: "success" }) === 1,
      "success",
    );
    expect(await drain()).toEqual([
      { eventId: id, routingKey: "meraki.motion", persistent: true, route: "meraki", body: { alertType: "motion" } },
    ]);
  });

  it("an unroutable message (returned by the broker) is dead at once, not retried", async () => {
    expect((await post(`${daemon.url}/meraki`, JSON.stringify({ alertType: "unroutable" }))).status).toBe(202);
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "meraki", target: "nowhere", outcome: "dead" }) === 1,
      "dead",
    );
    expect(metric(await scrape(), "switchyard_deliveries_total", { route: "meraki", target: "nowhere", outcome: "retry" })).toBe(0);
    await drain();
  });

  it("wrong credentials: retried, then dead; the error is logged without the password", async () => {
    expect((await post(`${daemon.url}/bad`, "{}")).status).toBe(202);
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "bad", target: "wrong", outcome: "dead" }) === 1,
      "dead",
    );
    const refused = daemon.logs.find((l) => l.target === "wrong" && l.msg === "cannot connect to the broker; retrying");
    expect(String(refused?.err)).toMatch(/ACCESS_REFUSED/);
    expect(JSON.stringify(daemon.logs) + daemon.stderr.join("")).not.toContain(WRONG);
  });

  it("a broker stopped mid-stream and restarted: every accepted event is in the queue", async () => {
    const ids = await sendAcrossBrokerRestart(daemon, broker, {
      path: "/meraki",
      body: (i) => ({ alertType: "door", n: i }),
      route: "meraki",
      target: "rabbit",
    });
    await waitFor(async () => settled(await scrape()), "every delivery settled", 90_000);
    const got = await drain();
    for (const id of ids) expect(got.some((g) => g.eventId === id)).toBe(true);
  }, 180_000);
});
