import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Koa from "koa";
import pino from "pino";
import { type CompiledConfig, compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { createAdminRouter } from "../../src/server/admin.js";
import { BodyBudget } from "../../src/server/body-budget.js";
import { createIngressApp } from "../../src/server/ingress.js";
import { createListener } from "../../src/server/listener.js";
import { SqliteStore, type SqliteStoreOptions } from "../../src/store/sqlite/sqlite-store.js";
import { Metrics } from "../../src/telemetry/metrics.js";

/**
 * The real ingress in-process: the koa app from src/server/ingress.ts behind the daemon's own
 * listener settings, a real SqliteStore in a temp folder, real Metrics, and a config compiled
 * from YAML by the code `serve` runs. No worker: what was stored stays countable.
 */
export interface Ingress {
  port: number;
  config: CompiledConfig;
  store: SqliteStore;
  metrics: Metrics;
  budget: BodyBudget;
  server: Server;
  close(): Promise<void>;
}

export interface IngressOptions {
  env?: NodeJS.ProcessEnv;
  storeFile?: string;
  store?: SqliteStoreOptions;
}

export async function startIngress(yaml: string, opts: IngressOptions = {}): Promise<Ingress> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-ingress-"));
  const env = opts.env ?? {};
  const log = pino({ level: "silent" });
  const file = join(dir, "switchyard.yaml");
  const config = compileConfig(parseConfig(yaml, file, env), { log });
  const store = SqliteStore.open(opts.storeFile ?? join(dir, "store.db"), opts.store);
  const metrics = new Metrics(() => store.depth());
  const budget = new BodyBudget(() => config.server.inflightBodyLimit);
  const admin = createAdminRouter({ metrics, store, config: () => config, version: "test" });
  const app = createIngressApp({
    store,
    metrics,
    log,
    config: () => config,
    draining: () => false,
    budget,
    admin: config.server.admin ? undefined : (admin.routes() as unknown as Koa.Middleware),
  });
  const server = createListener(app.callback(), { limits: config.server, log, name: "test" });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    config,
    store,
    metrics,
    budget,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
