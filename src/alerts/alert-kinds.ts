/**
 * The daemon's own events, which a route with `on: [kinds…]` receives. One table: a new kind
 * (`relay.lagging`, once relays exist) is one line here, and the schema, the README and the
 * presets' wording follow from it.
 */
export const ALERT_KINDS = {
  "delivery.dead": { severity: "error", summary: "a delivery failed for good and is in the dead-letter queue" },
  "target.paused": { severity: "error", summary: "a target failed for a long stretch and is paused" },
  "target.resumed": { severity: "info", summary: "a paused target takes deliveries again" },
  "config.reload_failed": { severity: "error", summary: "a config edit was refused; the previous config keeps serving" },
  "store.unavailable": { severity: "error", summary: "the store refuses writes; webhooks get 503" },
  "store.recovered": { severity: "info", summary: "the store takes writes again" },
} as const satisfies Record<string, { severity: AlertSeverity; summary: string }>;

export type AlertSeverity = "error" | "info";
export type AlertKind = keyof typeof ALERT_KINDS;
export const ALERT_KIND_NAMES = Object.keys(ALERT_KINDS) as AlertKind[];

export function isAlertKind(value: string): value is AlertKind {
  return Object.hasOwn(ALERT_KINDS, value);
}
