import { findAutocannon } from "./autocannon.js";
import type { Children } from "./children.js";
import type { Payload } from "./payload.js";
import { findWrk } from "./wrk.js";

/** One measurement: the same payload POSTed as fast as `connections` keep-alive connections allow. */
export interface LoadSettings {
  url: string;
  payload: Payload;
  connections: number;
  threads: number;
  durationS: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers with a status of 400 or more (wrk counts those; no server here answers 3xx). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
}

export interface LoadTool {
  name: "wrk" | "autocannon";
  version: string;
  run(settings: LoadSettings): Promise<LoadResult>;
}

/** Time the tool may overrun the requested duration (connections draining, reporting) before it is killed. */
export const LOAD_OVERRUN_MS = 30_000;

const INSTALL = {
  wrk: "install wrk (Debian/Ubuntu: `apt-get install wrk`)",
  autocannon: "add autocannon (`npm install --save-dev autocannon`)",
};

export class NoLoadToolError extends Error {
  constructor(asked?: "wrk" | "autocannon") {
    super(
      asked
        ? `--load-tool ${asked}: not available; ${INSTALL[asked]}, then run the bench again`
        : `no load tool: ${INSTALL.wrk} or ${INSTALL.autocannon}, then run the bench again`,
    );
  }
}

/** The tool asked for, or wrk when it is on PATH, else autocannon when it can be imported; else NoLoadToolError. */
export async function findLoadTool(children: Children, workDir: string, prefer?: "wrk" | "autocannon"): Promise<LoadTool> {
  const wrk = () => findWrk(children, workDir);
  // A tool asked for by name is the only one tried: numbers from another tool would not compare.
  const order = prefer === "autocannon" ? [findAutocannon] : prefer === "wrk" ? [wrk] : [wrk, findAutocannon];
  for (const find of order) {
    const tool = await find();
    if (tool) return tool;
  }
  throw new NoLoadToolError(prefer);
}
