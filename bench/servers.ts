import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { type Children, eachLine, waitFor } from "./children.js";
import { BASELINE_SERVER, CLI, DURABLE_BASELINE_SERVER, SINK_SERVER } from "./paths.js";
import { RssSampler } from "./rss.js";

/** A server the bench started as a child process, on 127.0.0.1. */
export interface RunningServer {
  name: string;
  pid: number;
  /** http://127.0.0.1:PORT */
  base: string;
  child: ChildProcess;
  rss: RssSampler;
  /** The last few KB of stderr, for error messages. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const START_TIMEOUT_MS = 20_000;
const STDERR_KEEP = 4096;

function track(children: Children, name: string, child: ChildProcess, base: string): RunningServer {
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    err = (err + c).slice(-STDERR_KEEP);
  });
  return {
    name,
    pid: child.pid,
    base,
    child,
    rss: new RssSampler(child.pid),
    stderr: () => err,
    stop: (signal) => children.stop(child, signal),
  };
}

/** Rejects as soon as the child exits, so a crash at start is reported at once rather than as a timeout. */
function exitedEarly(child: ChildProcess, name: string, stderr: () => string): Promise<never> {
  return new Promise((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`${name} exited at start (${signal ?? code}): ${stderr().trim()}`))),
  );
}

/** Starts one of the bench's own Node servers (baseline, sink); they print `{"port":N}` when listening. */
async function startNodeServer(children: Children, name: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  // stdin is a pipe the child watches: should the bench die by SIGKILL, the child exits too.
  const child = children.spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const port = new Promise<number>((resolve) =>
    eachLine(child.stdout, (line) => {
      const found = /^\{"port":(\d+)\}$/.exec(line)?.[1];
      if (found) resolve(Number(found));
    }),
  );
  const got = await Promise.race([port, exitedEarly(child, name, () => stderr)]);
  return track(children, name, child, `http://127.0.0.1:${got}`);
}

export const startBaseline = (children: Children, secret: string) =>
  startNodeServer(children, "raw node:http", BASELINE_SERVER, { BENCH_SECRET: secret });

/** The durable baseline (durable-baseline-server.ts), its SQLite file in a temp folder of the bench's. */
export const startDurableBaseline = (children: Children, secret: string) =>
  startNodeServer(children, "durable baseline", DURABLE_BASELINE_SERVER, {
    BENCH_SECRET: secret,
    BENCH_DB_DIR: children.tempDir("durable-baseline-"),
  });

export const startSink = (children: Children) => startNodeServer(children, "sink", SINK_SERVER);

/** The sink's counters (see sink-server.ts). */
export interface SinkStats {
  count: number;
  firstAt: number;
  lastAt: number;
}

export async function sinkStats(sink: RunningServer): Promise<SinkStats> {
  const res = await fetch(`${sink.base}/stats`);
  return (await res.json()) as SinkStats;
}

export async function resetSink(sink: RunningServer): Promise<void> {
  await fetch(`${sink.base}/reset`, { method: "POST" });
}

/** A free loopback port, for servers that cannot be told to pick one (adnanh/webhook). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** True once something answers HTTP on the port (any status). */
async function answers(url: string): Promise<true | undefined> {
  try {
    await (await fetch(url)).arrayBuffer();
    return true;
  } catch {
    return undefined;
  }
}

/** adnanh/webhook serving the given hooks file on a free loopback port. */
export async function startWebhook(children: Children, binary: string, hooksFile: string): Promise<RunningServer> {
  const port = await freePort();
  const child = children.spawn(binary, ["-hooks", hooksFile, "-ip", "127.0.0.1", "-port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.resume();
  const server = track(children, "adnanh/webhook", child, `http://127.0.0.1:${port}`);
  await Promise.race([
    waitFor(() => answers(`${server.base}/`), "webhook to listen", START_TIMEOUT_MS),
    exitedEarly(child, "webhook", server.stderr),
  ]);
  return server;
}

export interface LogEntry {
  msg: string;
  /** When the bench read the line (ms since the epoch). */
  at: number;
  fields: Record<string, unknown>;
}

export interface RunningSwitchyard extends RunningServer {
  /** The lifecycle log lines seen so far (start, reloads); per-event lines are not kept. */
  logs: LogEntry[];
  /** Lines logged at warn level or above. */
  problems: () => number;
  /** From spawn to the `switchyard started` line. */
  startupMs: number;
}

/** Only these lines are parsed: the daemon logs a line per event at info level, and parsing them all would cost the bench CPU. */
const LIFECYCLE = new Set(["switchyard started", "config reloaded", "config reload failed; the previous config keeps serving"]);
const MSG = /"msg":"([^"]*)"/;

/**
 * `node [nodeArgs] dist/src/main.js serve -c FILE`, as a user runs it. The port comes from the
 * `switchyard started` log line (the bench configs listen on 127.0.0.1:0).
 */
export async function startSwitchyard(
  children: Children,
  configFile: string,
  nodeArgs: readonly string[] = [],
): Promise<RunningSwitchyard> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run bench\` (it builds first)`);
  const spawnedAt = Date.now();
  const child = children.spawn(process.execPath, [...nodeArgs, CLI, "serve", "-c", configFile], {
    stdio: ["ignore", "pipe", "pipe"],
    // No SWITCHYARD_LOG_LEVEL: the daemon runs at its default level, as users run it.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  const logs: LogEntry[] = [];
  let problems = 0;
  eachLine(child.stdout, (line) => {
    if (line.includes('"level":"warn"') || line.includes('"level":"error"') || line.includes('"level":"fatal"')) problems++;
    const msg = MSG.exec(line)?.[1];
    if (msg === undefined || !LIFECYCLE.has(msg)) return;
    logs.push({ msg, at: Date.now(), fields: JSON.parse(line) as Record<string, unknown> });
  });
  const server = track(children, "switchyard", child, "");
  const started = await Promise.race([
    waitFor(() => logs.find((l) => l.msg === "switchyard started"), "the `switchyard started` log line", START_TIMEOUT_MS),
    exitedEarly(child, "switchyard", server.stderr),
  ]);
  const listen = started.fields.listen as { port: number };
  return { ...server, base: `http://127.0.0.1:${listen.port}`, logs, problems: () => problems, startupMs: started.at - spawnedAt };
}
