import type { Logger } from "pino";
import type { CompiledRoute } from "../../config/compile-route.js";
import type { Target } from "./target.js";

/**
 * The daemon's side of targets that hold a connection (brokers): which ones a reload keeps,
 * which ones it ends, and their state for the metric and the console.
 */

interface Routes {
  readonly routes: readonly CompiledRoute[];
}

function keyOf(route: string, target: string): string {
  return `${route}\u0000${target}`;
}

/**
 * Before a reload swaps configs: every new target whose route, name, type and options are the
 * same as a running one takes the running one's place, so its connection (and the messages in
 * flight on it) carry on. Returns the running targets the new config no longer has, to close
 * once it serves.
 */
export function carryConnections(old: Routes, next: Routes): Target[] {
  const running = new Map<string, { fingerprint: string; type: string; target: Target }>();
  for (const r of old.routes) for (const t of r.targets) running.set(keyOf(r.name, t.name), t);
  const kept = new Set<Target>();
  for (const r of next.routes) {
    for (const t of r.targets) {
      const before = running.get(keyOf(r.name, t.name));
      if (!before?.target.close || before.type !== t.type || before.fingerprint !== t.fingerprint) continue;
      // The compiled target is this reload's own object, not yet shared: replacing its client is safe.
      t.target = before.target;
      kept.add(before.target);
    }
  }
  const dropped: Target[] = [];
  for (const { target } of running.values()) if (target.close && !kept.has(target)) dropped.push(target);
  return dropped;
}

/** Starts connecting every target of the config that keeps a connection (those already open stay as they are). */
export function openConnections(config: Routes): void {
  for (const r of config.routes) for (const t of r.targets) t.target.open?.();
}

/** Ends connections; a failure to close one is logged, never thrown: the daemon goes on. */
export async function closeConnections(targets: readonly Target[], log: Logger): Promise<void> {
  await Promise.all(
    targets.map((t) =>
      t
        .close?.()
        .catch((err: unknown) =>
          log.warn({ err: err instanceof Error ? err.message : String(err) }, "closing a target's connection failed"),
        ),
    ),
  );
}

/** Every target of the config that keeps a connection, for `switchyard_target_connected` and the console. */
export function connectionStates(config: Routes): { route: string; target: string; connected: boolean }[] {
  const states: { route: string; target: string; connected: boolean }[] = [];
  for (const r of config.routes) {
    for (const t of r.targets) {
      if (t.target.connected) states.push({ route: r.name, target: t.name, connected: t.target.connected() });
    }
  }
  return states;
}

/** Every target of the config that keeps a connection. */
export function connectedTargets(config: Routes): Target[] {
  return config.routes.flatMap((r) => r.targets.map((t) => t.target).filter((t) => t.close !== undefined));
}
