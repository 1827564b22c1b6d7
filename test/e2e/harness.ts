import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach } from "vitest";

/** Spawns the built CLI (`dist/src/main.js`), as a user would run it. `npm test` builds first. */
export const CLI = resolve(import.meta.dirname, "../../dist/src/main.js");

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
}

export function tempDir(prefix = "switchyard-e2e-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface RunningDaemon {
  proc: ChildProcess;
  url: string;
  adminUrl: string;
  logs: LogLine[];
  stderr: string[];
  /** SIGTERM (graceful) and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startDaemon(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  requireBuild();
  const proc = spawn(process.execPath, [CLI, "serve", "-c", configFile], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SWITCHYARD_LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let buffered = "";
  proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        stderr.push(line);
      }
    }
  });
  proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });
  const started = await waitFor(() => {
    if (exitCode !== undefined) throw new Error(`daemon exited with ${exitCode}: ${stderr.join("")}`);
    return logs.find((l) => l.msg === "switchyard started");
  }, "the daemon to start");
  const listen = started.listen as AddressInfo;
  const admin = started.admin as AddressInfo | string;
  const url = `http://127.0.0.1:${listen.port}`;
  return {
    proc,
    url,
    adminUrl: typeof admin === "string" ? url : `http://127.0.0.1:${admin.port}`,
    logs,
    stderr,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (exitCode === undefined) proc.kill(signal);
      return exited;
    },
  };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child's whole output and exit code, once it has closed. */
export function finished(proc: ChildProcess): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  proc.stdout?.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  proc.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  return new Promise((done) => proc.once("close", (code) => done({ code, stdout, stderr })));
}

/** Runs the built CLI and keeps its stdout as bytes, for output that need not be text. */
export async function runCliBytes(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  requireBuild();
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let stderr = "";
  proc.stdout?.on("data", (c: Buffer) => out.push(c));
  proc.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  return new Promise((done) => proc.once("close", (code) => done({ code, stdout: Buffer.concat(out), stderr })));
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<Finished> {
  requireBuild();
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const result = finished(proc);
  proc.stdin.end(input ?? "");
  return result;
}

export interface SinkRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** The body's bytes, exactly as they arrived. */
  bytes: Buffer;
  at: number;
}

export interface Sink {
  url: string;
  requests: SinkRequest[];
  /** How the sink answers; default 200. May be async (a slow target). */
  respond: (req: SinkRequest, res: ServerResponse) => void | Promise<void>;
  /** The most requests it ever had in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startSink(port = 0): Promise<Sink> {
  let inFlight = 0;
  const sink: Sink = {
    url: "",
    requests: [],
    respond: (_req, res) => {
      res.writeHead(200).end("ok");
    },
    maxInFlight: 0,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server = createServer((req, res) => {
    inFlight++;
    sink.maxInFlight = Math.max(sink.maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const r: SinkRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        bytes: Buffer.concat(chunks),
        at: Date.now(),
      };
      try {
        await sink.respond(r, res);
        if (res.statusCode < 300) sink.requests.push(r);
      } finally {
        inFlight--;
        if (!res.writableEnded) res.end();
      }
    });
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return sink;
}

export function writeConfig(dir: string, text: string, name = "switchyard.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; json: () => unknown }> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const text = await res.text();
  return { status: res.status, body: text, json: () => JSON.parse(text) };
}

/** One metric sample's value from Prometheus text, or undefined. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/**
 * What a test started, stopped after each test of the describe block that calls it, newest
 * first: `track` a daemon (killed with SIGKILL) or a sink (closed), `later` anything else.
 */
export function cleanupAfterEach(): {
  track: <T extends RunningDaemon | Sink>(x: T) => T;
  later: (fn: () => Promise<unknown> | unknown) => void;
} {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    track: (x) => {
      cleanups.push(() => ("proc" in x ? x.stop("SIGKILL") : x.close()));
      return x;
    },
    later: (fn) => {
      cleanups.push(fn);
    },
  };
}
