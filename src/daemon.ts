import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, unwatchFile, watch, watchFile } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, resolve } from "node:path";
import type Koa from "koa";
import type { Logger } from "pino";
import type { Alert } from "./alerts/alert.js";
import { Alerter } from "./alerts/alerter.js";
import { type AddressOverrides, type CompiledConfig, loadAndCompile, loadAndCompileAsync } from "./config/compile.js";
import { timeSlices } from "./config/time-slices.js";
import type { ReloadStatus } from "./console/console-router.js";
import { LiveFeed } from "./console/live-feed.js";
import { Rejections } from "./console/rejections.js";
import { Tally } from "./console/tally.js";
import { ConfigError, formatIssue } from "./errors.js";
import type { ReceivedEvent } from "./pipeline/event.js";
import { Worker } from "./pipeline/worker.js";
import { HelperClient } from "./plugins/targets/exec/helper-client.js";
import { sweepTempFolders } from "./plugins/targets/exec/sweep-temp-folders.js";
import {
  carryConnections,
  closeConnections,
  connectedTargets,
  connectionStates,
  openConnections,
} from "./plugins/targets/target-connections.js";
import { serveRelay } from "./relay/relay-endpoint.js";
import { RelayHub } from "./relay/relay-hub.js";
import { RelayLagAlerts } from "./relay/relay-lag-alerts.js";
import { RelayMetrics } from "./relay/relay-metrics.js";
import { RelayPullers } from "./relay/relay-pullers.js";
import { createAdminApp, createAdminRouter } from "./server/admin.js";
import { createIngressApp } from "./server/ingress.js";
import { listenOn } from "./server/listen-on.js";
import { applyListenerLimits, applyListenerTls, createListener } from "./server/listener.js";
import { openStore } from "./store/open.js";
import { Pruner } from "./store/pruner.js";
import type { Store } from "./store/store.js";
import { Metrics } from "./telemetry/metrics.js";
import { RefusalLog } from "./telemetry/refusal-log.js";
import { describeStore, StoreOutage } from "./telemetry/store-outage.js";
import { VERSION } from "./version.js";

/**
 * The composition root: config, store, servers, worker, reload and shutdown. Everything that
 * holds state lives on one Daemon instance (no module state), so tests can run several.
 */

export interface DaemonOptions {
  configFile: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Reload when the config file changes (default true). SIGHUP is wired by the CLI. */
  watch?: boolean;
  /** `serve --listen/--admin`: win over the environment and the file, on reloads too. */
  overrides?: AddressOverrides;
}

/** Editors save in bursts (write temp, rename, chmod): one reload for the lot. */
const RELOAD_DEBOUNCE_MS = 200;
/** Stat polling catches what inotify cannot see, such as a single file bind-mounted into a container. */
const POLL_INTERVAL_MS = 2_000;
/** How long a reload's work on this thread may hold the event loop at a time. */
const RELOAD_SLICE_MS = 10;

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeIdleConnections();
  });
}

function hashFile(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** `server.log_level` applies unless SWITCHYARD_LOG_LEVEL, which wins, is set. */
function applyLogLevel(log: Logger, config: CompiledConfig, env: NodeJS.ProcessEnv): void {
  if (config.server.logLevel && !env.SWITCHYARD_LOG_LEVEL) log.level = config.server.logLevel;
}

export class Daemon {
  private draining = false;
  private readonly servers: Server[] = [];
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly pruner: Pruner;
  private lastHash: string | undefined;
  private reloading: Promise<boolean> = Promise.resolve(true);
  /** The console's: refused requests, live tail, counters, and what the last reload did. */
  private readonly rejections = new Rejections();
  private readonly startedAt = Date.now();
  private lastReload: ReloadStatus | undefined;
  /** The relay: pulls waiting at this edge, its metrics, and the pullers of `relays:`. */
  private readonly relayHub = new RelayHub();
  private readonly relayMetrics: RelayMetrics;
  private readonly pullers: RelayPullers;
  private readonly lagAlerts: RelayLagAlerts;
  listenAddress: AddressInfo | undefined;
  adminAddress: AddressInfo | undefined;

  private constructor(
    private readonly opts: DaemonOptions,
    private live: CompiledConfig,
    readonly store: Store,
    readonly metrics: Metrics,
    private readonly worker: Worker,
    private readonly outage: StoreOutage,
    private readonly refusals: RefusalLog,
    /** This daemon's exec helper: its targets' commands run there, and it ends with the daemon. */
    private readonly commands: HelperClient,
    private readonly feed: LiveFeed,
    private readonly tally: Tally,
    /** Raises the daemon's own events on `on:` routes. */
    private readonly alerter: Alerter,
  ) {
    this.pruner = new Pruner({ store, log: opts.log, retentionMs: () => this.live.store.retentionMs });
    this.relayMetrics = new RelayMetrics(metrics.registry, store, () => this.live);
    this.relayMetrics.declare(live);
    const receiveDeps = { store, metrics, log: opts.log, onAccepted: this.accepted, outage, refusals, tally, feed };
    this.pullers = new RelayPullers(receiveDeps, this.relayMetrics, () => this.live, opts.log);
    this.lagAlerts = new RelayLagAlerts({ store, config: () => this.live, raise: (a) => alerter.raise(a), log: opts.log });
  }

  /** An event is stored: the worker delivers its pushed targets, waiting pulls take its relayed ones. */
  private readonly accepted = (event: ReceivedEvent, targets: number): void => {
    const route = this.live.byName.get(event.route);
    const pulled = route ? route.targets.filter((t) => t.target.pulled).length : 0;
    // The worker keeps the event in memory for the targets it will claim, not for pulled ones.
    if (targets > pulled) this.worker.accepted(event, targets - pulled);
    if (pulled > 0) this.relayHub.accepted(event.route);
  };

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const log = opts.log;
    const file = resolve(opts.configFile);
    // Forks its helper on the first command only: a start that fails has started none.
    const commands = new HelperClient();
    const config = loadAndCompile(file, { log, env: opts.env, overrides: opts.overrides, commands });
    applyLogLevel(log, config, opts.env ?? process.env);
    for (const w of config.warnings) log.warn({ place: w.place, line: w.line }, `config warning: ${w.message}`);
    // What exec files a daemon killed mid-run left behind (payloads, some of them secret).
    const swept = await sweepTempFolders();
    if (swept > 0) log.info({ folders: swept }, "removed exec files folders left by a daemon that is no longer running");
    // The metrics exist before the store, which reports a Redis that lost its data into them.
    let opened: Store | undefined;
    let daemon: Daemon | undefined;
    const metrics = new Metrics(
      () => (opened ? opened.depth() : Promise.reject(new Error("the store is not open yet"))),
      () => opened?.walBytes?.(),
      () => connectionStates(daemon?.live ?? config),
    );
    const store = await openStore(config.store, { log, onDataLost: () => metrics.storeDataLost.inc() });
    opened = store;
    metrics.declareRoutes(config.routes);
    metrics.configLoaded(true);
    metrics.reloads.inc({ result: "success" }, 0);
    let alerter: Alerter | undefined;
    const outage = new StoreOutage(log, describeStore(config.store), (state, detail) => {
      if (state === "unavailable") alerter?.raise({ kind: "store.unavailable", ...(detail !== undefined ? { error: detail } : {}) });
      // What was raised during the outage is stored first, then that it is over.
      else
        void alerter
          ?.flush()
          .catch((err: unknown) => log.error({ err: (err as Error).message }, "held alerts not stored"))
          .finally(() => alerter?.raise({ kind: "store.recovered" }));
    });
    const feed = new LiveFeed();
    const tally = new Tally(store, log);
    const live = () => daemon?.live ?? config;
    const alerts = { raise: (a: Alert) => alerter?.raise(a) };
    const worker = new Worker({ store, metrics, log, config: live, outage, tally, feed, alerts });
    alerter = new Alerter({
      store,
      log,
      metrics,
      config: live,
      accepted: (event, targets) => (daemon ? daemon.accepted(event, targets) : worker.accepted(event, targets)),
    });
    daemon = new Daemon(
      { ...opts, configFile: file },
      config,
      store,
      metrics,
      worker,
      outage,
      new RefusalLog(log),
      commands,
      feed,
      tally,
      alerter,
    );
    daemon.lastHash = hashFile(file);
    daemon.lastReload = { at: new Date().toISOString(), ok: true, trigger: "start", errors: [] };
    try {
      await daemon.listen();
    } catch (err) {
      // A listener that did bind must not outlive the failed start: it would answer every
      // webhook 503 with the store closed, and a process that stays up is never restarted.
      await Promise.all(daemon.servers.map(closeServer));
      await store.close();
      throw err;
    }
    openConnections(config);
    worker.start();
    await daemon.pullers.sync(config.relays);
    daemon.lagAlerts.start();
    tally.start();
    daemon.pruner.start();
    if (opts.watch !== false) daemon.watchConfig();
    log.info(
      {
        listen: daemon.listenAddress,
        admin: daemon.adminAddress ?? "on listen",
        routes: config.routes.length,
        store: config.store.type,
        version: VERSION,
      },
      "switchyard started",
    );
    return daemon;
  }

  config(): CompiledConfig {
    return this.live;
  }

  private async listen(): Promise<void> {
    const { log } = this.opts;
    const adminRouter = createAdminRouter({
      metrics: this.metrics,
      store: this.store,
      config: () => this.live,
      version: VERSION,
      rejections: this.rejections,
      feed: this.feed,
      tally: this.tally,
      startedAt: this.startedAt,
      lastReload: () => this.lastReload,
      wake: () => this.worker.wake(),
      listenUrl: () => {
        const a = this.listenAddress;
        if (!a) return undefined;
        const host = a.address === "0.0.0.0" || a.address === "::" ? "127.0.0.1" : a.family === "IPv6" ? `[${a.address}]` : a.address;
        return `${this.live.server.tls ? "https" : "http"}://${host}:${a.port}`;
      },
    });
    const separateAdmin = this.live.server.admin !== undefined;
    const ingress = createIngressApp({
      store: this.store,
      metrics: this.metrics,
      log,
      config: () => this.live,
      draining: () => this.draining,
      onAccepted: this.accepted,
      relay: (ctx, found) =>
        serveRelay(ctx, found, {
          store: this.store,
          log,
          hub: this.relayHub,
          metrics: this.relayMetrics,
          draining: () => this.draining,
          refused: (fields, message) => this.refusals.note(`${String(fields.route)}\0relay_unauthorized`, "warn", fields, message),
        }),
      answers: this.worker.answers,
      outage: this.outage,
      refusals: this.refusals,
      rejections: this.rejections,
      tally: this.tally,
      feed: this.feed,
      admin: separateAdmin ? undefined : (adminRouter.routes() as unknown as Koa.Middleware),
    });
    // Slow and abusive clients: connection cap, header and request timeouts, keep-alive limits.
    const limits = this.live.server;
    const onDrop = () => this.metrics.ingressRefused.inc({ reason: "max_connections" });
    const ingressServer = createListener(ingress.callback(), { limits, log, name: "listen", onDrop, tls: this.live.server.tls });
    this.servers.push(ingressServer);
    this.listenAddress = await listenOn(ingressServer, this.live.server.listen, this.live.server.listenFrom);
    if (this.live.server.admin) {
      const adminServer = createListener(createAdminApp(adminRouter).callback(), { limits, log, name: "admin" });
      this.servers.push(adminServer);
      this.adminAddress = await listenOn(adminServer, this.live.server.admin, this.live.server.adminFrom ?? "server.admin");
    }
  }

  /**
   * Builds the new config completely, then swaps one reference: requests in flight finish on
   * the routes they started with, and any error keeps the old config serving.
   */
  reload(trigger: string): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.doReload(trigger));
    return this.reloading;
  }

  private async doReload(trigger: string): Promise<boolean> {
    const { log } = this.opts;
    // A reload during shutdown would start pullers and reopen broker connections that nothing
    // stops any more, and the process would never exit.
    if (this.draining) {
      log.info({ trigger }, "config reload skipped: shutting down");
      return false;
    }
    const file = this.live.file;
    log.debug({ trigger }, "config reload started");
    let next: CompiledConfig;
    try {
      next = await loadAndCompileAsync(file, { log, env: this.opts.env, overrides: this.opts.overrides, commands: this.commands });
      log.debug({ trigger, routes: next.routes.length }, "config reload compiled");
    } catch (err) {
      this.metrics.reloads.inc({ result: "failure" });
      this.metrics.configLoaded(false);
      if (err instanceof ConfigError) {
        for (const issue of err.issues)
          log.error({ place: issue.place, line: issue.line }, `config reload failed: ${formatIssue(file, issue)}`);
      } else {
        log.error({ err: (err as Error).message }, "config reload failed");
      }
      const errors =
        err instanceof ConfigError
          ? err.issues
              .filter((i) => i.severity === "error")
              .map((i) => ({ message: formatIssue(file, i), place: i.place || undefined, line: i.line }))
          : [{ message: (err as Error).message }];
      this.lastReload = { at: new Date().toISOString(), ok: false, trigger, errors };
      this.alerter.raise({ kind: "config.reload_failed", error: errors.map((e) => e.message).join("\n") });
      log.error({ trigger }, "config reload failed; the previous config keeps serving");
      return false;
    }
    // Shutdown began while the new config compiled: nothing of it may start now.
    if (this.draining) {
      log.info({ trigger }, "config reload skipped: shutting down");
      return false;
    }
    // Every series of the new routes at 0, a slice at a time: thousands of routes take longer
    // than requests may wait. Declared before the swap, so no new route counts before its series exist.
    const turn = timeSlices(RELOAD_SLICE_MS);
    for (const route of next.routes) {
      this.metrics.declareRoutes([route]);
      await turn();
    }
    const old = this.live;
    const needsRestart: string[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(old.server.listen, next.server.listen)) needsRestart.push("server.listen");
    if (!same(old.server.admin, next.server.admin)) needsRestart.push("server.admin");
    // The certificate and key are swapped in place; turning HTTPS on or off needs a new listener.
    if ((old.server.tls === undefined) !== (next.server.tls === undefined)) needsRestart.push("server.tls");
    // The store is not reopened on reload; its retention is only a setting of the pruner.
    if (!same({ ...old.store, retentionMs: 0 }, { ...next.store, retentionMs: 0 })) needsRestart.push("store");
    const retentionChanged = old.store.retentionMs !== next.store.retentionMs;
    // Listeners and the store are not rebuilt on reload: keep running ones, say so, apply the rest.
    applyLogLevel(log, next, this.opts.env ?? process.env);
    const store = { ...old.store, retentionMs: next.store.retentionMs };
    const tls = (old.server.tls === undefined) === (next.server.tls === undefined) ? next.server.tls : old.server.tls;
    const dropped = carryConnections(old, next);
    this.live = { ...next, server: { ...next.server, listen: old.server.listen, admin: old.server.admin, tls }, store };
    openConnections(next);
    // Deliveries already on a dropped target finish on it: its close waits for their acks.
    void closeConnections(dropped, log);
    if (retentionChanged) this.pruner.runSoon();
    for (const server of this.servers) applyListenerLimits(server, this.live.server);
    if (this.servers[0]) applyListenerTls(this.servers[0], this.live.server.tls);
    for (const w of next.warnings) log.warn({ place: w.place, line: w.line }, `config warning: ${w.message}`);
    if (needsRestart.length > 0) log.warn({ keys: needsRestart }, "these settings changed and take effect only after a restart");
    this.metrics.reloads.inc({ result: "success" });
    this.metrics.configLoaded(true);
    this.lastReload = { at: new Date().toISOString(), ok: true, trigger, errors: [] };
    const names = (c: CompiledConfig) => new Set(c.routes.flatMap((r) => r.targetNames.map((t) => `${r.name}/${t}`)));
    const before = names(old);
    const after = names(next);
    const removed = [...before].filter((t) => !after.has(t));
    log.info({ trigger, routes: next.routes.length, added: [...after].filter((t) => !before.has(t)), removed }, "config reloaded");
    this.relayMetrics.declare(this.live);
    await this.pullers.sync(this.live.relays);
    this.worker.wake();
    return true;
  }

  private watchConfig(): void {
    const file = this.live.file;
    const onChange = () => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => {
        const hash = hashFile(file);
        // Editors and `git pull` touch files without changing them; only a new content reloads.
        if (hash === undefined || hash === this.lastHash) return;
        this.lastHash = hash;
        void this.reload("file change");
      }, RELOAD_DEBOUNCE_MS);
    };
    // The folder, not the file: editors and `git pull` replace the file by rename, which a
    // watch on the old file's inode would never see.
    try {
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file)) onChange();
      });
      this.watcher.on("error", (err) => this.opts.log.warn({ err: err.message }, "config folder watch failed; polling continues"));
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, "cannot watch the config folder; polling only");
    }
    watchFile(file, { interval: POLL_INTERVAL_MS, persistent: false }, onChange);
  }

  /** SIGHUP: reload even when the file did not change (secret files, environment). */
  reloadNow(): Promise<boolean> {
    this.lastHash = hashFile(this.live.file);
    return this.reload("SIGHUP");
  }

  /** Graceful shutdown: refuse new webhooks (503), let deliveries finish up to the bound, release leases, close. */
  async stop(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.opts.log.info("shutting down: new webhooks get 503, in-flight deliveries may finish");
    clearTimeout(this.reloadTimer);
    this.pruner.stop();
    this.lagAlerts.stop();
    this.watcher?.close();
    unwatchFile(this.live.file);
    // A reload under way finishes (or gives up, draining) before the pullers stop, so it
    // cannot start one after them.
    await this.reloading;
    // Before the store closes: a pull being written finishes and is acknowledged.
    await this.pullers.stop();
    const closing = this.servers.map(closeServer);
    await this.worker.stop(this.live.server.shutdownTimeoutMs);
    // Alerts the drain raised are stored before the store closes; the next start delivers them.
    await this.alerter.close();
    for (const s of this.servers) s.closeAllConnections();
    await Promise.all(closing);
    this.refusals.close();
    // The last seconds of counters, while the store is still open.
    await this.tally.stop().catch(() => undefined);
    // The worker has drained (or aborted) every delivery: no command is left to wait for.
    this.commands.close();
    await closeConnections(connectedTargets(this.live), this.opts.log);
    await this.store.close();
    this.opts.log.info("stopped");
  }
}
