import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import { Children, waitFor } from "./children.js";
import { cpuSnapshot, NOISY_CORES, otherCores } from "./noise.js";
import { freePort } from "./servers.js";

/**
 * `npm run bench:mqtt [-- --events N --concurrency C]`: deliveries/s from Switchyard to a local
 * Mosquitto with qos 1 (each delivery settled on the broker's PUBACK), counted by a subscriber.
 *
 * The store is filled first, so the figure is the delivery drain alone, not capped by ingest:
 * phase 1 accepts N events for target `broker` while it is an exec target whose one slot is
 * held by a command that sleeps; phase 2 restarts the daemon with `broker` as the mqtt target,
 * and times the drain from its first message at the subscriber to its last. Prints one JSON
 * object; the other cores' use meanwhile says whether the machine was quiet.
 */

const CLI = resolve(import.meta.dirname, "../src/main.js");
const DRAIN_TIMEOUT_MS = 600_000;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} wants a positive integer`);
  return value;
}

function program(name: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${name} || ls /usr/sbin/${name}`], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")[0];
  if (!found) throw new Error(`${name} is not installed (Debian: apt-get install ${name})`);
  return found;
}

function config(port: number, target: string): string {
  return `
server: { listen: 127.0.0.1:${port}, shutdown_timeout: 1s }
store: { path: ./data/switchyard.db }
routes:
  - name: bench
    path: /bench
    verify: { type: none }
    targets:
      - name: broker
${target}`;
}

async function main(): Promise<void> {
  const events = option("events", 10_000);
  const concurrency = option("concurrency", 64);
  const children = new Children();
  process.on("exit", () => children.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => process.exit(130));
  const dir = children.tempDir("switchyard-bench-mqtt-");
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const brokerPort = await freePort();
  writeFileSync(join(dir, "mosquitto.conf"), `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\n`);
  const broker = children.spawn(program("mosquitto"), ["-c", join(dir, "mosquitto.conf")]);
  const url = `mqtt://127.0.0.1:${brokerPort}`;
  const sub = await waitFor(
    () => mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5 }).catch(() => undefined),
    "mosquitto",
    10_000,
    100,
  );
  const seen = new Set<string>();
  let first = 0;
  let last = 0;
  sub.on("message", (_topic, _payload, packet) => {
    const id = packet.properties?.userProperties?.["switchyard-event-id"];
    if (typeof id !== "string") return;
    const now = performance.now();
    if (seen.size === 0) first = now;
    seen.add(id);
    last = now;
  });
  await sub.subscribeAsync("bench/#", { qos: 1 });

  const port = await freePort();
  const file = join(dir, "switchyard.yaml");
  const serve = () => {
    const child = children.spawn(process.execPath, [CLI, "serve", "-c", file], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SWITCHYARD_LOG_LEVEL: "warn" },
    });
    const up = () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    return { child, ready: () => waitFor(up, "the daemon", 60_000, 100) };
  };

  log(`mqtt bench: phase 1, ${events} events into the store`);
  writeFileSync(
    file,
    config(
      port,
      "        type: exec\n        command: [sleep, '600']\n        concurrency: 1\n        retry: { attempts: 3, backoff: 10ms }",
    ),
  );
  const filling = serve();
  await filling.ready();
  let next = 0;
  const post = async () => {
    for (let i = next++; i < events; i = next++) {
      const res = await fetch(`http://127.0.0.1:${port}/bench`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ n: i, alertType: "motion" }),
      });
      if (res.status !== 202) throw new Error(`event ${i}: HTTP ${res.status}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 32 }, post));
  await children.stop(filling.child);

  log(`mqtt bench: phase 2, drain to ${url} (qos 1, target concurrency ${concurrency})`);
  writeFileSync(
    file,
    config(
      port,
      `        type: mqtt\n        url: ${url}\n        topic: bench/events\n        qos: 1\n        concurrency: ${concurrency}`,
    ),
  );
  const cpu0 = cpuSnapshot(children.livePids());
  const draining = serve();
  await draining.ready();
  await waitFor(() => (seen.size >= events ? true : undefined), `${events} messages at the subscriber`, DRAIN_TIMEOUT_MS, 50);
  const cpu1 = cpuSnapshot(children.livePids());
  const seconds = (last - first) / 1000;
  const others = otherCores(cpu0, cpu1);
  process.stdout.write(
    `${JSON.stringify(
      {
        events,
        targetConcurrency: concurrency,
        delivered: seen.size,
        drainSeconds: Number(seconds.toFixed(2)),
        deliveriesPerSecond: Math.round((seen.size - 1) / seconds),
        otherCpuCores: Number(others.toFixed(2)),
        noisy: others > NOISY_CORES,
      },
      null,
      2,
    )}\n`,
  );
  await sub.endAsync(true);
  await children.stop(draining.child);
  await children.stop(broker);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`mqtt bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
