import type { DeliveryState } from "../store.js";

/**
 * Script replies arrive as nested arrays of strings, integers and nulls; these read them with a
 * check, so a reply of an unexpected shape is a clear error rather than a wrong answer.
 */

function unexpected(what: string, value: unknown): Error {
  return new Error(`redis store: ${what}: unexpected reply ${JSON.stringify(value)}`);
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw unexpected(what, value);
  return value;
}

export function text(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw unexpected(what, value);
}

export function num(value: unknown, what: string): number {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw unexpected(what, value);
  return n;
}

export function optionalText(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

const STATES: ReadonlySet<string> = new Set<DeliveryState>(["pending", "retrying", "delivered", "skipped", "coalesced", "dead"]);

export function isState(value: string): value is DeliveryState {
  return STATES.has(value);
}

/** The `[route, target]` JSON our scripts keep per queue. */
export function routeTarget(value: unknown, what: string): { route: string; target: string } {
  const parsed: unknown = JSON.parse(text(value, what));
  const [route, target] = list(parsed, what);
  return { route: text(route, what), target: text(target, what) };
}
