import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LoadResult, LoadSettings, LoadTool } from "./load.js";

/** The part of autocannon's API the bench uses (it ships no types of its own). */
interface AutocannonOptions {
  url: string;
  method: "POST";
  body: Buffer;
  headers: Record<string, string>;
  connections: number;
  duration: number;
  timeout: number;
}
interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number; max: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;

function isAutocannon(value: unknown): value is Autocannon {
  return typeof value === "function";
}

function version(): string {
  try {
    const file = createRequire(import.meta.url).resolve("autocannon/package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/**
 * autocannon, when installed (a devDependency). Imported by a name held in a variable so that
 * the build does not need it: the bench still compiles, and uses wrk, where it is absent.
 * It runs inside the bench process, so it shares the machine's cores with the server measured,
 * as wrk does.
 */
export async function findAutocannon(): Promise<LoadTool | undefined> {
  const specifier = "autocannon";
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch {
    return undefined;
  }
  const fn = typeof mod === "object" && mod !== null && "default" in mod ? mod.default : undefined;
  if (!isAutocannon(fn)) return undefined;
  return { name: "autocannon", version: version(), run: (s) => runAutocannon(fn, s) };
}

async function runAutocannon(autocannon: Autocannon, s: LoadSettings): Promise<LoadResult> {
  const r = await autocannon({
    url: s.url,
    method: "POST",
    body: s.payload.body,
    headers: s.payload.headers,
    connections: s.connections,
    duration: s.durationS,
    timeout: 10,
  });
  return {
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    socketErrors: r.errors, // autocannon counts timeouts among errors
  };
}
