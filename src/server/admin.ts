import Router from "@koa/router";
import Koa from "koa";
import type { CompiledConfig } from "../config/compile.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

/** /metrics, /healthz, /readyz and a status page. None of them echo request data. */

export interface AdminOptions {
  metrics: Metrics;
  store: Store;
  config: () => CompiledConfig | undefined;
  version: string;
}

export function createAdminRouter(opts: AdminOptions): Router {
  const router = new Router();
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
  router.get("/metrics", async (ctx) => {
    ctx.set("Content-Type", opts.metrics.registry.contentType);
    ctx.body = await opts.metrics.registry.metrics();
  });
  router.get("/", async (ctx) => {
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
