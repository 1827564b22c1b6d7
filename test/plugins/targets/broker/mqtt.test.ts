import { writeFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, runCli, startDaemon, tempDir, waitFor, writeConfig } from "../../../e2e/harness.js";
import { type Broker, requireProgram, sendAcrossBrokerRestart, startMosquitto } from "./broker-harness.js";

/**
 * The mqtt target against a real Mosquitto, through the built daemon: what a subscriber (Home
 * Assistant) receives, retained state, a broker that goes away mid-stream, wrong credentials,
 * and the connection kept across a reload.
 */
const mosquitto = requireProgram("mosquitto", "mqtt target");
const PASSWORD = "s3cret-mqtt-pass";

function config(url: string, extra = ""): string {
  return `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: meraki
    path: /meraki
    verify: { type: none }
    targets:
      - name: ha
        type: mqtt
        url: ${url}
        username: switchyard
        password: \${MQTT_PASSWORD}
        topic_expression: '"switchyard/meraki/" & body.alertType'
        retry: { attempts: 1000, backoff: 100ms, max_backoff: 500ms }
  - name: state
    path: /state
    verify: { type: none }
    targets:
      - name: retained
        type: mqtt
        url: ${url}
        username: switchyard
        password: \${MQTT_PASSWORD}
        topic: switchyard/state
        retain: true
        transform: '{ "state": body.state }'
  - name: bad
    path: /bad
    verify: { type: none }
    targets:
      - name: wrong
        type: mqtt
        url: ${url}
        username: switchyard
        password: not-the-\${MQTT_PASSWORD}
        topic: switchyard/bad
        retry: { attempts: 2, backoff: 100ms }
${extra}`;
}

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  eventId?: string;
}

async function subscriber(url: string, topic: string, clientId: string): Promise<{ client: MqttClient; got: Received[] }> {
  const got: Received[] = [];
  // A persistent session: what is published while it is away (a broker restart) waits for it.
  const client = await mqtt.connectAsync(url, {
    username: "switchyard",
    password: PASSWORD,
    clientId,
    clean: false,
    protocolVersion: 5,
    reconnectPeriod: 200,
  });
  client.on("message", (t, payload, packet) => {
    const id = packet.properties?.userProperties?.["switchyard-event-id"];
    got.push({ topic: t, payload: payload.toString(), retain: packet.retain, eventId: Array.isArray(id) ? id[0] : id });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, got };
}

describe.skipIf(!mosquitto)("mqtt target (real mosquitto)", () => {
  let broker: Broker & { url: string };
  let daemon: RunningDaemon;
  let dir: string;
  let file: string;
  let sub: Awaited<ReturnType<typeof subscriber>>;

  beforeAll(async () => {
    broker = await startMosquitto(mosquitto ?? "mosquitto", PASSWORD);
    dir = tempDir();
    file = writeConfig(dir, config(broker.url));
    sub = await subscriber(broker.url, "switchyard/meraki/#", "test-sub-meraki");
    daemon = await startDaemon(file, { MQTT_PASSWORD: PASSWORD });
  }, 60_000);

  afterAll(async () => {
    await sub?.client.endAsync(true);
    await daemon?.stop();
    await broker?.destroy();
  });

  const scrape = async () => (await fetch(`${daemon.adminUrl}/metrics`)).text();

  it("publishes each event to its computed topic, settled on the broker's acknowledgement, with the event id", async () => {
    await waitFor(async () => metric(await scrape(), "switchyard_target_connected", { route: "meraki", target: "ha" }) === 1, "connected");
    const res = await post(`${daemon.url}/meraki`, JSON.stringify({ alertType: "motion", camera: "porch" }));
    expect(res.status).toBe(202);
    const { id } = res.json() as { id: string };
    const msg = await waitFor(() => sub.got.find((m) => m.eventId === id), "the message at the subscriber");
    expect(msg.topic).toBe("switchyard/meraki/motion");
    expect(JSON.parse(msg.payload)).toEqual({ alertType: "motion", camera: "porch" });
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "meraki", target: "ha", outcome: "success" }) === 1,
      "success",
    );
    const routes = (await (await fetch(`${daemon.adminUrl}/api/v1/routes`)).json()) as {
      routes: { name: string; targets: { name: string; connected?: boolean }[] }[];
    };
    expect(routes.routes.find((r) => r.name === "meraki")?.targets[0]?.connected).toBe(true);
  });

  it("retain: a subscriber that arrives later still sees the last state", async () => {
    expect((await post(`${daemon.url}/state`, JSON.stringify({ state: "armed" }))).status).toBe(202);
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "state", target: "retained", outcome: "success" }) === 1,
      "delivered",
    );
    const late = await subscriber(broker.url, "switchyard/state", "test-sub-late");
    try {
      const msg = await waitFor(() => late.got[0], "the retained message");
      expect(msg.retain).toBe(true);
      expect(JSON.parse(msg.payload)).toEqual({ state: "armed" });
    } finally {
      await late.client.endAsync(true);
    }
  });

  it("a broker stopped mid-stream and restarted: every accepted event arrives", async () => {
    const ids = await sendAcrossBrokerRestart(daemon, broker, {
      path: "/meraki",
      body: (i) => ({ alertType: "door", n: i }),
      route: "meraki",
      target: "ha",
    });
    await waitFor(() => ids.every((id) => sub.got.some((m) => m.eventId === id)), "every event at the subscriber", 60_000);
    await waitFor(
      async () => metric(await scrape(), "switchyard_target_connected", { route: "meraki", target: "ha" }) === 1,
      "connected again",
    );
  }, 90_000);

  it("wrong credentials: retried, then dead; the error is logged without the password", async () => {
    expect((await post(`${daemon.url}/bad`, JSON.stringify({ x: 1 }))).status).toBe(202);
    await waitFor(
      async () => metric(await scrape(), "switchyard_deliveries_total", { route: "bad", target: "wrong", outcome: "dead" }) === 1,
      "dead",
    );
    expect(metric(await scrape(), "switchyard_deliveries_total", { route: "bad", target: "wrong", outcome: "retry" })).toBe(1);
    const refused = daemon.logs.find((l) => l.target === "wrong" && l.msg === "cannot connect to the broker; retrying");
    expect(String(refused?.err)).toMatch(/Bad User Name or Password|Not authorized/i);
    const everything = JSON.stringify(daemon.logs) + daemon.stderr.join("");
    expect(everything).not.toContain(PASSWORD);
  });

  it("a reload that keeps a target's options keeps its connection; one that changes them reconnects", async () => {
    const connects = () => daemon.logs.filter((l) => l.target === "ha" && l.msg === "connected to the broker").length;
    const before = connects();
    const reloads = () => daemon.logs.filter((l) => l.msg === "config reloaded").length;
    const r0 = reloads();
    writeFileSync(file, config(broker.url, "# an unrelated edit\n"));
    await waitFor(() => reloads() > r0, "the reload");
    expect(connects()).toBe(before);
    writeFileSync(file, config(broker.url).replace('"switchyard/meraki/" & body.alertType', '"switchyard/meraki/v2/" & body.alertType'));
    await waitFor(() => reloads() > r0 + 1, "the second reload");
    await waitFor(() => connects() === before + 1, "a new connection");
    const res = await post(`${daemon.url}/meraki`, JSON.stringify({ alertType: "smoke" }));
    const { id } = res.json() as { id: string };
    expect((await waitFor(() => sub.got.find((m) => m.eventId === id), "the message")).topic).toBe("switchyard/meraki/v2/smoke");
    // A target the config no longer has is closed, and its series leaves the metric.
    expect(metric(await scrape(), "switchyard_target_connected", { route: "bad", target: "wrong" })).toBe(0);
    writeFileSync(file, config(broker.url).replace(/ {2}- name: bad[\s\S]*$/, ""));
    await waitFor(() => reloads() > r0 + 2, "the third reload");
    expect(metric(await scrape(), "switchyard_target_connected", { route: "bad", target: "wrong" })).toBeUndefined();
    expect(metric(await scrape(), "switchyard_target_connected", { route: "meraki", target: "ha" })).toBe(1);
  });

  it("check warns that qos 0 can lose messages", async () => {
    const d = tempDir();
    const f = writeConfig(d, config(broker.url).replace("topic: switchyard/bad", "topic: switchyard/bad\n        qos: 0"));
    const r = await runCli(["check", "-c", f], { MQTT_PASSWORD: PASSWORD });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/qos 0 is fire and forget/);
  });
});
