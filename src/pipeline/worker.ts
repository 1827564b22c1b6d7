import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Alerter } from "../alerts/alerter.js";
import type { CompiledConfig, CompiledTarget } from "../config/compile.js";
import type { LiveFeed } from "../console/live-feed.js";
import type { Tally } from "../console/tally.js";
import { ExpressionError, StoreUnavailableError } from "../errors.js";
import type { DeliveryOutcome } from "../plugins/targets/target.js";
import { type AttemptRecord, type ClaimedDelivery, excerpt, type Settlement, type Store, type TargetKey } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import type { StoreOutage } from "../telemetry/store-outage.js";
import { AnswerWaits, type AttemptAnswer } from "./answer-waits.js";
import type { ReceivedEvent } from "./event.js";
import { FailingTargets } from "./failing-targets.js";
import { FreshEvents } from "./fresh-events.js";
import { PausedTargets } from "./paused-targets.js";
import { prepare } from "./prepare.js";
import { isProcessAlive } from "./proc-stat.js";
import { readRouteBody } from "./read-route-body.js";
import type { Redactor } from "./redact.js";
import { settlementFor } from "./settle.js";

/**
 * The worker loop, top to bottom: find targets with due work → claim up to each target's free
 * concurrency → per delivery: filter → transform → deliver → settle. Delivery never happens
 * inside a request; the store is the only hand-off.
 */

/** How often an idle worker looks for work another process made due (a CLI `dlq replay`). */
const IDLE_POLL_MS = 1_000;
/** How often expired leases (a crashed process's claims) are handed back out. */
const RECLAIM_EVERY_MS = 5_000;
/** A lease outlives the attempt's own timeout by this much before another worker may take it. */
const LEASE_MARGIN_MS = 5_000;
/** How often targets with failing deliveries are summed up in the log (one warning per target). */
const FAILING_SUMMARY_EVERY_MS = 60_000;
/** A failing delivery not tried again this long after it was due has left this worker's hands. */
const FAILING_STALE_MS = 10 * 60_000;

function redactOutcome(outcome: DeliveryOutcome, redact: Redactor): DeliveryOutcome {
  const response = outcome.response === undefined ? {} : { response: redact(outcome.response) };
  return outcome.kind === "delivered"
    ? { ...outcome, ...response, detail: redact(outcome.detail) }
    : { ...outcome, ...response, error: redact(outcome.error) };
}

/** The attempt's result as the waiting webhook hears it; a target with no answer of its own gives an empty one. */
function attemptAnswer(outcome: DeliveryOutcome): AttemptAnswer {
  if (outcome.kind !== "delivered") return { kind: "failed", error: outcome.error };
  return { kind: "answered", answer: outcome.answer ?? { kind: "answer", headers: {}, body: Buffer.alloc(0) } };
}

/** The attempt as the delivery's log keeps it. */
function attemptRecord(attempt: number, startedAt: number, durationMs: number, s: Settlement, outcome?: DeliveryOutcome): AttemptRecord {
  return {
    attempt,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Math.round(durationMs),
    outcome: s.kind,
    status: outcome?.status ?? null,
    exitCode: outcome?.exitCode ?? null,
    response: outcome?.response ? excerpt(outcome.response) : null,
    error: s.kind === "retry" || s.kind === "dead" ? s.error : null,
  };
}

export interface WorkerDeps {
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** The live config: read on every pass, so a reload applies to the next claim. */
  config: () => CompiledConfig;
  /** Told of every pass's store fault and success: an outage is logged once, not once a second. */
  outage?: StoreOutage;
  /** How often failing targets are summed up in the log (default 1 min). */
  failingSummaryEveryMs?: number;
  /** The console's per-minute counters. */
  tally?: Tally;
  /** The console's live tail. */
  feed?: LiveFeed;
  /** Raises `delivery.dead` on the routes that listen for it. */
  alerts?: Pick<Alerter, "raise">;
  /** Requests waiting for a first attempt's answer (`respond.target`); the worker's own by default. */
  answers?: AnswerWaits;
}

export class Worker {
  /** host/pid/random: a restarted daemon can tell its dead predecessors' leases from live ones. */
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly inflight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loopDone: Promise<void> | undefined;
  private lastReclaim = 0;
  /** Targets with deliveries but no longer in the config, reported once per config generation. */
  private readonly reportedOrphans = new WeakMap<CompiledConfig, Set<string>>();
  private readonly failing = new FailingTargets(FAILING_STALE_MS);
  /** Events accepted lately, handed over in memory so a first attempt need not read them back. */
  private readonly fresh = new FreshEvents();
  private readonly known = (eventId: string) => this.fresh.take(eventId);
  private summaryTimer: NodeJS.Timeout | undefined;
  /** Targets paused after failing for a stretch: only a probe now and then goes out. */
  private readonly paused: PausedTargets;
  /** Requests waiting for the answer of a first attempt this worker makes (`respond.target`). */
  readonly answers: AnswerWaits;

  constructor(private readonly deps: WorkerDeps) {
    this.paused = new PausedTargets({ store: deps.store, log: deps.log, metrics: deps.metrics, alerts: deps.alerts, config: deps.config });
    this.answers = deps.answers ?? new AnswerWaits();
  }

  start(): void {
    this.loopDone ??= this.recoverOwnLeases().then(() => this.loop());
    this.summaryTimer ??= setInterval(() => this.summarizeFailing(), this.deps.failingSummaryEveryMs ?? FAILING_SUMMARY_EVERY_MS);
    this.summaryTimer.unref();
  }

  /**
   * A retry after the first failure logs at debug only; this is what stays visible at warn: per
   * target, how many deliveries are failing, the oldest one's age and the last error.
   */
  private summarizeFailing(): void {
    for (const s of this.failing.summary(Date.now())) {
      this.deps.log.warn(
        { route: s.route, target: s.target, failing: s.failing, oldestAgeSeconds: s.oldestAgeSeconds, lastError: s.lastError },
        "deliveries to this target keep failing; retries continue",
      );
    }
  }

  /**
   * After a crash (kill -9, OOM, power loss) this host's previous daemon left leases behind.
   * Waiting for them to expire would delay those deliveries by their timeout; a lease whose
   * holder is a dead process on this host can be given back at once. Leases of other hosts,
   * or of live processes, are left to expire.
   */
  private async recoverOwnLeases(): Promise<void> {
    const { store, log } = this.deps;
    if (!store.leaseOwners) return;
    try {
      for (const owner of await store.leaseOwners()) {
        const [host, pidText] = owner.split("/");
        const pid = Number(pidText);
        if (owner === this.owner || host !== hostname() || !Number.isInteger(pid)) continue;
        // The same pid as ours but another owner is our own previous incarnation (containers reuse pid 1).
        if (pid !== process.pid && isProcessAlive(pid)) continue;
        const n = await store.release(owner);
        if (n > 0) log.warn({ released: n }, "leases of a crashed previous run given back for delivery");
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, "could not recover leases of a previous run; they expire on their own");
    }
  }

  /**
   * An event was stored (durably: its deliveries are in the store) and may be delivered now.
   * The worker keeps it for the claims of its `targets`, then looks for work.
   */
  accepted(event: ReceivedEvent, targets: number): void {
    this.fresh.add(event, targets, Date.now());
    // Under a burst every target of the route is usually busy: a pass now would read the backlog
    // only to claim nothing. The delivery that frees a slot wakes the worker, and that pass
    // finds this event's deliveries.
    if (!this.allBusy(event.route)) this.wake();
  }

  /** Whether every target of the route has its concurrency in flight (false for a route not in the config). */
  private allBusy(route: string): boolean {
    const r = this.deps.config().byName.get(route);
    if (!r || r.targets.length === 0) return false;
    return r.targets.every((t) => (this.inflight.get(`${route}\u0000${t.name}`) ?? 0) >= t.concurrency);
  }

  /** New work may be due (an enqueue, a settled delivery freeing a slot). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for in-flight deliveries, then aborts the rest and
   * gives their leases back so the next start retries them at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.summaryTimer);
    this.wake();
    await this.loopDone;
    const drained = Promise.allSettled([...this.running]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.deps.log.warn({ inflight: this.running.size }, "shutdown timeout: aborting in-flight deliveries");
      this.abort.abort();
      await drained;
    }
    const released = await this.deps.store.release(this.owner).catch((err: unknown) => {
      // Not fatal: the leases expire by themselves, and the next start on this host gives them back.
      this.deps.log.warn({ err: (err as Error).message }, "could not release leases at shutdown; they will be reclaimed when they expire");
      return 0;
    });
    if (released > 0) this.deps.log.info({ released }, "leases released for the next start");
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let sleepMs = IDLE_POLL_MS;
      try {
        sleepMs = await this.pass();
        // A pass can succeed while webhooks still cannot be stored (a read-only store file still
        // takes the worker's bookkeeping in its WAL): the outage ends when the store vouches for
        // a 202 again, as /readyz asks it.
        if (this.deps.outage?.isDown) {
          await this.deps.store.ping();
          this.deps.outage.succeeded();
        }
      } catch (err) {
        if (err instanceof StoreUnavailableError && this.deps.outage) this.deps.outage.failed(err);
        else this.deps.log.error({ err: (err as Error).message }, "worker pass failed; retrying");
      }
      if (this.stopping) break;
      await this.sleep(sleepMs);
    }
  }

  /** One look at the backlog; returns how long to sleep before the next. */
  private async pass(): Promise<number> {
    const { store, log } = this.deps;
    const now = Date.now();
    if (now - this.lastReclaim >= RECLAIM_EVERY_MS) {
      this.lastReclaim = now;
      const n = await store.reclaimExpired(now);
      if (n > 0)
        log.warn(
          { reclaimed: n },
          "expired leases reclaimed (a worker stopped mid-delivery, or a relay puller did not acknowledge its batch in time)",
        );
    }
    await this.paused.refresh(now);
    const config = this.deps.config();
    let nextAt = now + IDLE_POLL_MS;
    const claims: Promise<void>[] = [];
    for (const b of await store.backlog()) {
      if (this.stopping) break;
      const target = config.byName.get(b.route)?.targets.find((t) => t.name === b.target);
      if (!target) {
        this.reportOrphan(config, b);
        continue;
      }
      // Handed out by the relay endpoint to its puller, never pushed from here.
      if (target.target.pulled) continue;
      if (b.nextDueAt > now) {
        nextAt = Math.min(nextAt, b.nextDueAt);
        continue;
      }
      const key = `${b.route}\u0000${b.target}`;
      const free = this.paused.claimable(b, target.concurrency - (this.inflight.get(key) ?? 0), now);
      if (free <= 0) {
        const probeAt = this.paused.probeAt(b);
        if (probeAt !== undefined && probeAt > now) nextAt = Math.min(nextAt, probeAt);
        continue;
      }
      // A paused target gets one probe; no other until it is settled.
      const probe = this.paused.probeAt(b) !== undefined;
      if (probe) this.paused.probing(b);
      const claim = store.claim({
        route: b.route,
        target: b.target,
        limit: free,
        leaseMs: target.timeoutMs + LEASE_MARGIN_MS,
        now,
        owner: this.owner,
        coalesce: target.coalesce,
        concurrency: target.concurrency,
        known: this.known,
      });
      const route = config.byName.get(b.route);
      claims.push(
        claim.then(
          (claimed) => {
            const first = claimed[0];
            if (probe && first) this.paused.probeClaimed(b, first.id);
            else if (probe) this.paused.probeMissed(b, Date.now());
            for (const d of claimed) {
              // The body the ingress filtered on is the body targets see.
              readRouteBody(d.event, route);
              this.dispatch(key, d, target);
            }
          },
          (err: unknown) => {
            if (probe) this.paused.probeMissed(b, Date.now());
            throw err;
          },
        ),
      );
    }
    // Every target's claim joins the same batch (one transaction); the pass ends when all are
    // dispatched, so a stop never misses a delivery a late claim started.
    const failed = (await Promise.allSettled(claims)).find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return Math.max(0, nextAt - Date.now());
  }

  private dispatch(key: string, d: ClaimedDelivery, target: CompiledTarget): void {
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
    if (d.coalesced > 0)
      this.deps.log.info(
        { eventId: d.eventId, route: d.route, target: d.target, coalesced: d.coalesced },
        "older events coalesced into this run",
      );
    const run = this.deliver(d, target).finally(() => {
      this.inflight.set(key, (this.inflight.get(key) ?? 1) - 1);
      this.running.delete(run);
      this.wake();
    });
    this.running.add(run);
  }

  private async deliver(d: ClaimedDelivery, target: CompiledTarget): Promise<void> {
    const { store, metrics, log } = this.deps;
    const fields = { eventId: d.eventId, route: d.route, target: d.target, attempt: d.attempt };
    const started = performance.now();
    const startedAt = Date.now();
    let outcome: DeliveryOutcome;
    // The first attempt of a delivery whose webhook waits for its answer (`respond.target`).
    const answers = d.attempt === 1 && this.answers.wants(d.eventId, d.target) ? this.answers : undefined;
    try {
      const prepared = await prepare(target, d.event);
      if (prepared.skip) {
        answers?.settle(d.eventId, d.target, { kind: "skipped" });
        const skipped: Settlement = { kind: "skipped" };
        const ms = performance.now() - started;
        await store.settle(d.id, this.owner, skipped, Date.now(), attemptRecord(d.attempt, startedAt, ms, skipped));
        this.settled(d, skipped, ms);
        this.failing.settled(d, d.id);
        // A paused target's probe that its filter skipped told nothing: the next delivery probes.
        this.paused.probeMissed(d, Date.now(), d.id);
        log.debug(fields, "target filter said no");
        return;
      }
      const input = answers ? { ...prepared.input, answer: { limit: this.deps.config().server.bodyLimit } } : prepared.input;
      outcome = await target.target.deliver(input, this.abort.signal);
    } catch (err) {
      // A filter or transform that fails will fail again on retry: dead-letter it, so it can be
      // replayed once the config is fixed. Anything else is a bug; keep it retryable.
      outcome =
        err instanceof ExpressionError
          ? { kind: "fail", error: err.message }
          : { kind: "retry", error: `internal error: ${(err as Error).message}` };
    }
    // Error texts are stored, logged and listed: a target that echoes our Authorization header
    // in its error page must not put the token there.
    outcome = redactOutcome(outcome, this.deps.config().redact);
    // The webhook hears the result before it is recorded: the record is the same either way, and
    // a crash before it only means the attempt is made again.
    if (answers) answers.settle(d.eventId, d.target, attemptAnswer(outcome));
    const seconds = (performance.now() - started) / 1000;
    metrics.deliveryDuration.observe({ route: d.route, target: d.target }, seconds);
    const settlement = this.paused.adjust(d, target, settlementFor(outcome, d.attempt, target.retry, Date.now()), Date.now());
    try {
      await store.settle(
        d.id,
        this.owner,
        settlement,
        Date.now(),
        attemptRecord(d.attempt, startedAt, seconds * 1000, settlement, outcome),
      );
    } catch (err) {
      // The lease will expire and the delivery be retried: at least once, never lost.
      log.error({ ...fields, err: (err as Error).message }, "could not record the delivery result");
      this.paused.probeMissed(d, Date.now(), d.id);
      return;
    }
    this.settled(d, settlement, seconds * 1000);
    await this.paused
      .settled(d, target, settlement, Date.now())
      .catch((err: unknown) => log.error({ ...fields, err: (err as Error).message }, "could not record the target's pause state"));
    if (settlement.kind === "retry")
      this.failing.failed(d, d.id, Date.parse(d.event.receivedAt) || Date.now(), settlement.at, settlement.error);
    else this.failing.settled(d, d.id);
    switch (settlement.kind) {
      case "delivered":
        metrics.deliveries.inc({ route: d.route, target: d.target, outcome: "success" });
        log.info({ ...fields, outcome: "success", detail: settlement.detail, seconds }, "delivered");
        break;
      case "retry":
        metrics.deliveries.inc({ route: d.route, target: d.target, outcome: "retry" });
        // Warn on the first failure only: a long backlog of retries would fill the disk with
        // repeats. Later ones are in the periodic per-target summary (and at debug).
        {
          const line = { ...fields, outcome: "retry", error: settlement.error, retryAt: new Date(settlement.at).toISOString() };
          if (d.attempt === 1) log.warn(line, "delivery failed; retry scheduled");
          else log.debug(line, "delivery failed again; retry scheduled");
        }
        break;
      case "dead":
        metrics.deliveries.inc({ route: d.route, target: d.target, outcome: "dead" });
        log.error({ ...fields, outcome: "dead", error: settlement.error }, "delivery failed for good; kept in the dead-letter queue");
        this.deps.alerts?.raise({
          kind: "delivery.dead",
          route: d.route,
          target: d.target,
          eventId: d.eventId,
          attempts: d.attempt,
          error: settlement.error,
        });
        break;
      case "skipped":
        break;
    }
  }

  /** The console hears of every settled attempt: its counters and its live tail. */
  private settled(d: ClaimedDelivery, s: Settlement, ms: number): void {
    this.deps.tally?.delivered(d.route, d.target, s.kind, ms, s.kind === "retry" || s.kind === "dead" ? s.error : undefined);
    this.deps.feed?.publish(() => ({
      type: "delivery",
      eventId: d.eventId,
      id: d.id,
      route: d.route,
      target: d.target,
      state: s.kind === "retry" ? "retrying" : s.kind,
      attempt: d.attempt,
      ...(s.kind === "retry" || s.kind === "dead" ? { error: s.error } : {}),
    }));
  }

  private reportOrphan(config: CompiledConfig, key: TargetKey): void {
    const seen = this.reportedOrphans.get(config) ?? new Set<string>();
    this.reportedOrphans.set(config, seen);
    const id = `${key.route}/${key.target}`;
    if (seen.has(id)) return;
    seen.add(id);
    this.deps.log.warn(
      { route: key.route, target: key.target },
      "deliveries are waiting for a route or target that is no longer in the config; they are kept and resume if it comes back (see `switchyard events`)",
    );
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }
}
