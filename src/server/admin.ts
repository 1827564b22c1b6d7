import Router from "@koa/router";
import Koa from "koa";
import type { CompiledConfig } from "../config/compile.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { requireAdminToken } from "./admin-token.js";
import { mountConsole } from "./console-assets.js";

/**
 * /metrics, /healthz, /readyz and a status page. None of them echo request data. With
 * `server.admin_token`, /metrics and the status page want it; /healthz and /readyz stay open
 * for orchestrators' probes, and say nothing but ready or not.
 */

export interface AdminOptions {
  metrics: Metrics;
  store: Store;
  config: () => CompiledConfig | undefined;
  version: string;
}

export function createAdminRouter(opts: AdminOptions): Router {
  const router = new Router();
  const guarded = requireAdminToken(() => opts.config()?.server.adminToken);
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const problems: string[] = [];
    if (!opts.config()) problems.push("config not loaded");
    try {
      await opts.store.ping();
    } catch {
      problems.push("store unavailable");
    }
    ctx.status = problems.length ? 503 : 200;
    ctx.body = problems.length ? { status: "not ready", problems } : { status: "ready" };
  });
  router.get("/metrics", guarded, async (ctx) => {
    ctx.set("Content-Type", opts.metrics.registry.contentType);
    ctx.body = await opts.metrics.registry.metrics();
  });
  // Browsers get the console at `/`; scripts asking for JSON keep the status below.
  mountConsole(router);
  router.get("/", guarded, async (ctx) => {
    const config = opts.config();
    const depth = await opts.store.depth().catch(() => undefined);
    ctx.body = {
      service: "switchyard",
      version: opts.version,
      config: config?.file,
      queue: depth ?? "store unavailable",
      routes: (config?.routes ?? []).map((r) => ({
        name: r.name,
        path: r.path,
        verify: r.verifyType,
        targets: r.targets.map((t) => ({ name: t.name, type: t.type, concurrency: t.concurrency })),
      })),
    };
  });
  return router;
}

export function createAdminApp(router: Router): Koa {
  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
