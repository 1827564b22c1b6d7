import Router from "@koa/router";
import Koa from "koa";
import type { CompiledConfig } from "../config/compile.js";
import { securityHeaders } from "../console/admin-security.js";
import { addConsoleRoutes, type ReloadStatus } from "../console/console-router.js";
import { LiveFeed } from "../console/live-feed.js";
import { LiveStream } from "../console/live-stream.js";
import { Rejections } from "../console/rejections.js";
import type { Tally } from "../console/tally.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { requireAdminToken } from "./admin-token.js";
import { mountConsole } from "./console-assets.js";

/**
 * /metrics, /healthz, /readyz and the console's API under /api/v1. With `server.admin_token`,
 * /metrics and the API want it; /healthz and /readyz stay open for orchestrators' probes, and
 * say nothing but ready or not. Every answer carries the console's security headers.
 */

export interface AdminOptions {
  metrics: Metrics;
  store: Store;
  config: () => CompiledConfig | undefined;
  version: string;
  /** The daemon's refused requests, live feed and counters (a router of its own without them). */
  rejections?: Rejections;
  feed?: LiveFeed;
  tally?: Tally;
  startedAt?: number;
  lastReload?: () => ReloadStatus | undefined;
  wake?: () => void;
  listenUrl?: () => string | undefined;
}

export function createAdminRouter(opts: AdminOptions): Router {
  const router = new Router();
  router.use(securityHeaders());
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
  // The console's page and bundles; the data under it is the API below.
  mountConsole(router);
  const rejections = opts.rejections ?? new Rejections();
  addConsoleRoutes(
    router,
    {
      store: opts.store,
      config: opts.config,
      version: opts.version,
      rejections,
      stream: new LiveStream(opts.feed ?? new LiveFeed(), rejections),
      tally: opts.tally,
      startedAt: opts.startedAt ?? Date.now(),
      lastReload: opts.lastReload ?? (() => undefined),
      wake: opts.wake ?? (() => undefined),
      listenUrl: opts.listenUrl,
    },
    guarded,
  );
  return router;
}

export function createAdminApp(router: Router): Koa {
  const app = new Koa();
  // Also on the admin listener's own 404 and 405 answers.
  app.use(securityHeaders());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
