import type { Alert } from "./alert.js";

/**
 * The daemon's own events, which a route with `on: [kinds…]` receives. One table: a new kind
 * (`relay.lagging`, once relays exist) is one entry here, and the schema, the README's list of
 * accepted values and the alert's wording follow from it.
 */

export type AlertSeverity = "error" | "info";

interface KindSpec {
  severity: AlertSeverity;
  /** The alert's title and message; `subject` is `route/target`, `error` the error cut short. */
  title(a: Alert, subject: string): string;
  message(a: Alert, subject: string, error: string): string;
}

export const ALERT_KINDS = {
  "delivery.dead": {
    severity: "error",
    title: (_a, subject) => `Delivery to ${subject} failed for good`,
    message: (a, subject, error) =>
      `Event ${a.eventId ?? "?"} to ${subject} is in the dead-letter queue after ${a.attempts ?? "?"} attempts. Last error: ${error}`,
  },
  "target.paused": {
    severity: "error",
    title: (_a, subject) => `Target ${subject} paused`,
    message: (_a, subject, error) =>
      `Deliveries to ${subject} kept failing and wait until it answers again (switchyard target resume ${subject}). Last error: ${error}`,
  },
  "target.resumed": {
    severity: "info",
    title: (_a, subject) => `Target ${subject} resumed`,
    message: (_a, subject) => `${subject} takes deliveries again; the waiting ones are on their way.`,
  },
  "config.reload_failed": {
    severity: "error",
    title: () => "Config reload failed",
    message: (_a, _s, error) => `The edited config was refused; the previous one keeps serving. ${error}`,
  },
  "store.unavailable": {
    severity: "error",
    title: () => "Store unavailable",
    message: (_a, _s, error) => `The store refuses writes; webhooks get 503 until it is back. ${error}`,
  },
  "store.recovered": {
    severity: "info",
    title: () => "Store recovered",
    message: () => "The store takes writes again; webhooks are accepted.",
  },
  "relay.lagging": {
    severity: "error",
    title: (_a, subject) => `Relay ${subject} is lagging`,
    message: (_a, subject, error) =>
      `Events for ${subject} wait at this edge: no puller has acknowledged them (is the home instance pulling?). ${error}`,
  },
} as const satisfies Record<string, KindSpec>;

export type AlertKind = keyof typeof ALERT_KINDS;
export const ALERT_KIND_NAMES = Object.keys(ALERT_KINDS) as AlertKind[];
