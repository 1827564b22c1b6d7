import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { metric, post, type RunningDaemon, waitFor } from "../../../e2e/harness.js";
import { freePort } from "../../../store/redis-harness.js";

/**
 * Real brokers from Debian's packages (mosquitto, nats-server, rabbitmq-server) for the broker
 * targets' tests: each on free ports in a temp dir, stopped and restarted on the same ports and
 * data (the "broker down mid-stream" tests). CI installs them (.ci/run); locally, without one,
 * its tests are skipped with a loud message, as the Redis tests are.
 */

/** The program on PATH, or in /usr/sbin, where Debian puts daemons a user's PATH may not have. */
export function findProgram(name: string): string | undefined {
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  for (const dir of ["/usr/sbin", "/usr/lib/rabbitmq/bin"]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not there
    }
  }
  return undefined;
}

export function requireProgram(name: string, what: string): string | undefined {
  const found = findProgram(name);
  if (!found)
    console.warn(
      `\n*** ${name} is not installed: the ${what} tests are SKIPPED. Install it (Debian: apt-get install ${name}) to run them. ***\n`,
    );
  return found;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => done(true));
  });
}

export interface Broker {
  port: number;
  dir: string;
  /** Stops it (SIGTERM: a clean shutdown that saves its state) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  restart(): Promise<void>;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
  /** What it printed since it last started, for a failing test's message. */
  output(): string;
}

interface LaunchSpec {
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  port: number;
  dir: string;
  /** Up when this says so (default: the port accepts connections). */
  ready?: () => Promise<boolean>;
  startTimeoutMs: number;
}

export async function startProcess(spec: LaunchSpec): Promise<Broker> {
  let proc: ChildProcess | undefined;
  let out = "";
  const launch = async () => {
    out = "";
    const child = spawn(spec.program, spec.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...spec.env },
      detached: true,
    });
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    proc = child;
    const deadline = Date.now() + spec.startTimeoutMs;
    const ready = spec.ready ?? (() => accepts(spec.port));
    while (!(await ready())) {
      if (child.exitCode !== null) throw new Error(`${spec.program} exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        throw new Error(`${spec.program} did not start on ${spec.port} within ${spec.startTimeoutMs} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    // The process group: rabbitmq-server is a script that starts the Erlang VM (and epmd).
    if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    await exited;
  };
  await launch();
  return {
    port: spec.port,
    dir: spec.dir,
    stop,
    restart: launch,
    destroy: async () => {
      await stop();
      rmSync(spec.dir, { recursive: true, force: true });
    },
    output: () => out,
  };
}

/** Mosquitto with a password file (user `switchyard`), persistence on, and nothing anonymous. */
export async function startMosquitto(program: string, password: string): Promise<Broker & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-mosquitto-"));
  const port = await freePort();
  const passwords = join(dir, "passwords");
  writeFileSync(passwords, "");
  const made = spawnSync(findProgram("mosquitto_passwd") ?? "mosquitto_passwd", ["-b", passwords, "switchyard", password], {
    encoding: "utf8",
  });
  if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${passwords}`,
      "persistence true",
      `persistence_location ${dir}/`,
      "log_dest stdout",
      // Started by root (CI), mosquitto would switch to its own user, which cannot read this temp dir.
      `user ${userInfo().username}`,
      "",
    ].join("\n"),
  );
  const broker = await startProcess({ program, args: ["-c", conf], port, dir, startTimeoutMs: 10_000 });
  return { ...broker, url: `mqtt://127.0.0.1:${port}` };
}

/** nats-server with JetStream (file storage in the temp dir, kept across a restart) and one user. */
export async function startNats(program: string, password: string): Promise<Broker & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nats-"));
  const port = await freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, "--user", "switchyard", "--pass", password];
  const broker = await startProcess({ program, args, port, dir, startTimeoutMs: 15_000 });
  return { ...broker, url: `nats://127.0.0.1:${port}` };
}

/**
 * RabbitMQ as its own node in the temp dir: node name, AMQP port, distribution port and epmd
 * port all its own, so it neither meets a system RabbitMQ nor another test's. Started from
 * /usr/lib/rabbitmq/bin (Debian's /usr/sbin wrapper switches to the rabbitmq user). The
 * default user guest/guest may log in from 127.0.0.1.
 */
export async function startRabbit(program: string): Promise<Broker & { url: string; startedInMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-rabbitmq-"));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    HOME: dir,
    RABBITMQ_NODENAME: `switchyard${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_LOGS: "-",
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, "advanced.config"),
    RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_PID_FILE: join(dir, "rabbitmq.pid"),
  };
  mkdirSync(join(dir, "mnesia"));
  mkdirSync(join(dir, "log"));
  // epmd daemonizes out of the broker's process group; its own -kill ends it.
  const endEpmd = () =>
    spawnSync(findProgram("epmd") ?? "/usr/lib/erlang/bin/epmd", ["-kill"], {
      env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) },
      stdio: "ignore",
    });
  const started = Date.now();
  let base: Broker;
  try {
    // Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user, who cannot write this temp dir.
    const direct = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    const server = existsSync(direct) ? direct : program;
    base = await startProcess({ program: server, args: [], env, port, dir, ready: () => rabbitUp(port), startTimeoutMs: 120_000 });
  } catch (err) {
    endEpmd();
    throw err;
  }
  const startedInMs = Date.now() - started;
  return {
    ...base,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    startedInMs,
    destroy: async () => {
      await base.stop();
      endEpmd();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An AMQP 0-9-1 protocol header answered with connection.start: the broker takes connections. */
function rabbitUp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1")));
    // A method frame (type 1) on channel 0: connection.start.
    socket.once("data", (chunk) => done(chunk[0] === 1));
  });
}

/**
 * The "broker down mid-stream" sequence the three broker targets share: ten events POSTed to
 * `path`, each answered 202, with the broker stopped after the fifth; once the target says it is
 * disconnected (`switchyard_target_connected` 0), the broker is started again. The events' ids.
 */
export async function sendAcrossBrokerRestart(
  daemon: RunningDaemon,
  broker: Broker,
  o: { path: string; body: (i: number) => unknown; route: string; target: string },
): Promise<string[]> {
  const ids: string[] = [];
  const send = async (i: number) => {
    const res = await post(`${daemon.url}${o.path}`, JSON.stringify(o.body(i)));
    expect(res.status).toBe(202);
    ids.push((res.json() as { id: string }).id);
  };
  const scrape = async () => (await fetch(`${daemon.adminUrl}/metrics`)).text();
  for (let i = 0; i < 5; i++) await send(i);
  await broker.stop();
  for (let i = 5; i < 10; i++) await send(i);
  await waitFor(
    async () => metric(await scrape(), "switchyard_target_connected", { route: o.route, target: o.target }) === 0,
    "disconnected",
  );
  await broker.restart();
  return ids;
}
