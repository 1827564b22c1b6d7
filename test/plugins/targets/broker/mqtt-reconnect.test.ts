import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogLine, type RunningDaemon, startDaemon, tempDir, waitFor, writeConfig } from "../../../e2e/harness.js";
import { type Broker, requireProgram, startMosquitto } from "./broker-harness.js";

/**
 * A broker target's connection over time, against a real Mosquitto through the built daemon:
 * a connection the broker keeps dropping (two clients with one client id) backs off and is
 * warned about once, and a reload after a rotated certificate file reconnects with the new file.
 */
const mosquitto = requireProgram("mosquitto", "mqtt target");
const PASSWORD = "s3cret-mqtt-pass";

function target(name: string, url: string, extra: string): string {
  return `
      - name: ${name}
        type: mqtt
        url: ${url}
        username: switchyard
        password: \${MQTT_PASSWORD}
        topic: switchyard/${name}
${extra}`;
}

function config(url: string): string {
  return `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: twin-a
    path: /a
    verify: { type: none }
    targets:${target("a", url, "        client_id: switchyard-twin")}
  - name: twin-b
    path: /b
    verify: { type: none }
    targets:${target("b", url, "        client_id: switchyard-twin")}
  - name: tls
    path: /tls
    verify: { type: none }
    targets:${target("rotated", url, "        ca_file: ./ca.pem")}
`;
}

const LOST = "lost the connection to the broker; reconnecting";

describe.skipIf(!mosquitto)("mqtt target connection lifecycle (real mosquitto)", () => {
  let broker: Broker & { url: string };
  let daemon: RunningDaemon;
  let dir: string;

  beforeAll(async () => {
    broker = await startMosquitto(mosquitto ?? "mosquitto", PASSWORD);
    dir = tempDir();
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nthe CA of last year\n-----END CERTIFICATE-----\n");
    daemon = await startDaemon(writeConfig(dir, config(broker.url)), { MQTT_PASSWORD: PASSWORD });
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await broker?.destroy();
  });

  const of = (name: string, msg: string, level?: string): LogLine[] =>
    daemon.logs.filter((l) => l.target === name && l.msg === msg && (level === undefined || l.level === level));

  it("a connection the broker keeps dropping is reconnected with a growing backoff and warned about once", async () => {
    // a and b take turns pushing each other off: a's k-th loss waits for a's and b's k-th reconnect.
    const losses = await waitFor(
      () => {
        const lost = of("a", LOST);
        return lost.length >= 4 ? lost : undefined;
      },
      "a's fourth lost connection",
      60_000,
    );
    const times = losses.map((l) => Date.parse(String(l.time)));
    // Each side waits at least 1 s before its third reconnect (0.5 s before each, without a backoff).
    expect(times[3] - times[2]).toBeGreaterThanOrEqual(1_500);
    for (const name of ["a", "b"]) {
      const warned = of(name, LOST, "warn");
      expect(warned).toHaveLength(1);
      expect(String(warned[0]?.err)).toMatch(/another client connected with client_id switchyard-twin/);
    }
    const repeats = of("a", LOST, "debug");
    expect(repeats.length).toBeGreaterThanOrEqual(3);
    expect(repeats.at(-1)?.repeats).toBe(repeats.length);
  }, 90_000);

  it("a reload after the CA file changed reconnects with the new file; one without a change keeps the connection", async () => {
    const connects = () => of("rotated", "connected to the broker").length;
    await waitFor(() => connects() === 1, "the first connection");
    const reloads = () => daemon.logs.filter((l) => l.msg === "config reloaded").length;
    const r0 = reloads();
    daemon.proc.kill("SIGHUP");
    await waitFor(() => reloads() > r0, "the reload");
    expect(connects()).toBe(1);
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nthe CA of this year\n-----END CERTIFICATE-----\n");
    daemon.proc.kill("SIGHUP");
    await waitFor(() => reloads() > r0 + 1, "the second reload");
    await waitFor(() => connects() === 2, "a new connection");
  }, 60_000);
});
