import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { LineIndex, type LineTable } from "./line-table.js";
import { type LoadedConfig, loadConfigFile } from "./load.js";
import type { Config } from "./schema.js";
import { timeSlices } from "./time-slices.js";

/**
 * `loadConfigFile` on a worker thread (load-worker.ts): the same code and the same result,
 * while the calling thread goes on serving. A 2 000-route file takes hundreds of milliseconds
 * to parse even on a quiet machine, and a YAML parse cannot yield. A small file loads on this
 * thread: starting a thread and loading the parser, ajv and the plugins into it costs far more
 * than parsing a few hundred routes. Run from the TypeScript sources (tests), where there is no
 * built worker script, every file loads on this thread.
 * The values cross as JSON, which a config (YAML's core schema: strings, numbers, booleans,
 * null, lists, maps) survives unchanged.
 */

export interface LoadRequest {
  file: string;
  env: NodeJS.ProcessEnv;
}

export type LoadReply =
  /** `head`: {config, raw, lines} with `routes: []`; `routes`: {config, raw, lines} of each route, as JSON. */
  | { t: "loaded"; file: string; issues: ConfigIssue[]; head: string; routes: string[] }
  | { t: "config-error"; issues: ConfigIssue[] }
  | { t: "failed"; message: string };

interface Part {
  config: unknown;
  raw: unknown;
  lines: LineTable;
}

const WORKER = new URL("./load-worker.js", import.meta.url);
/** From this size a file is loaded on the worker: a parse of 128 KiB (some 300 routes) takes tens of ms. */
export const OFF_THREAD_MIN_BYTES = 128 * 1024;
/** How long reassembling the routes may hold the event loop at a time. */
const SLICE_MS = 10;

/** Puts the reply back together a route at a time, with turns of the event loop in between. */
async function assemble(reply: Extract<LoadReply, { t: "loaded" }>): Promise<LoadedConfig> {
  const head = JSON.parse(reply.head) as Part;
  const index = new LineIndex();
  index.add(head.lines);
  const turn = timeSlices(SLICE_MS);
  const configRoutes: unknown[] = [];
  const rawRoutes: unknown[] = [];
  for (const text of reply.routes) {
    const part = JSON.parse(text) as Part;
    configRoutes.push(part.config);
    rawRoutes.push(part.raw);
    index.add(part.lines);
    await turn();
  }
  let { config, raw } = head;
  if (reply.routes.length > 0) {
    config = { ...(config as object), routes: configRoutes };
    raw = { ...(raw as object), routes: rawRoutes };
  }
  // The worker loaded it with loadConfigFile, which returns a Config.
  return { file: reply.file, config: config as Config, raw, issues: reply.issues, lineOf: index.lineOf };
}

export function loadOffThread(file: string, env: NodeJS.ProcessEnv = process.env, minBytes = OFF_THREAD_MIN_BYTES): Promise<LoadedConfig> {
  const script = fileURLToPath(WORKER);
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (!existsSync(script) || size < minBytes) return Promise.resolve().then(() => loadConfigFile(file, env));
  return new Promise((resolve, reject) => {
    const request: LoadRequest = { file, env: { ...env } };
    const worker = new Worker(script, { workerData: request });
    let answered = false;
    worker.once("message", (reply: LoadReply) => {
      answered = true;
      void worker.terminate();
      if (reply.t === "loaded") assemble(reply).then(resolve, reject);
      else if (reply.t === "config-error") reject(new ConfigError(file, reply.issues));
      else reject(new Error(reply.message));
    });
    worker.once("error", (err) => {
      answered = true;
      reject(err);
    });
    worker.once("exit", (code) => {
      if (!answered) reject(new Error(`the config loader thread exited (code ${code}) without an answer`));
    });
  });
}
