import { parentPort, workerData } from "node:worker_threads";
import { ConfigError } from "../errors.js";
import { type LineTable, lineTableOf } from "./line-table.js";
import { type LoadedConfig, loadConfigFile } from "./load.js";
import type { LoadReply, LoadRequest } from "./load-off-thread.js";

/**
 * Loads one config file (YAML, ${VAR}, ajv, JSONata syntax) on a worker thread for
 * load-off-thread.ts and posts the result back: parsing a large file cannot be cut into slices,
 * and the daemon's thread is serving requests meanwhile. The result goes as JSON texts, one per
 * route: receiving one large object graph would hold the daemon's thread for as long as
 * cloning it takes, while the texts are parsed there one route at a time.
 */

const request = workerData as LoadRequest;

function routesOf(v: unknown): unknown[] | undefined {
  const routes = v !== null && typeof v === "object" ? (v as { routes?: unknown }).routes : undefined;
  return Array.isArray(routes) ? routes : undefined;
}

function split(loaded: LoadedConfig): LoadReply {
  const { file, config, raw, issues } = loaded;
  const lines = lineTableOf(raw, loaded.lineOf);
  const configRoutes = routesOf(config);
  const rawRoutes = routesOf(raw);
  if (configRoutes === undefined || rawRoutes === undefined || configRoutes.length !== rawRoutes.length) {
    return { t: "loaded", file, issues, head: JSON.stringify({ config, raw, lines }), routes: [] };
  }
  const perRoute: LineTable[] = configRoutes.map(() => []);
  const other: LineTable = [];
  for (const entry of lines) {
    const [path] = entry;
    const bucket = path[0] === "routes" && typeof path[1] === "number" ? perRoute[path[1]] : undefined;
    (bucket ?? other).push(entry);
  }
  return {
    t: "loaded",
    file,
    issues,
    head: JSON.stringify({ config: { ...config, routes: [] }, raw: { ...(raw as object), routes: [] }, lines: other }),
    routes: configRoutes.map((c, i) => JSON.stringify({ config: c, raw: rawRoutes[i], lines: perRoute[i] })),
  };
}

function load(): LoadReply {
  try {
    return split(loadConfigFile(request.file, request.env));
  } catch (err) {
    if (err instanceof ConfigError) return { t: "config-error", issues: [...err.issues] };
    return { t: "failed", message: err instanceof Error ? err.message : String(err) };
  }
}

parentPort?.postMessage(load());
