import { type ReceivedEvent, receivedEvent } from "../pipeline/event.js";
import { newEventId } from "../pipeline/event-id.js";
import { ALERT_KINDS, type AlertKind, type AlertSeverity } from "./alert-kinds.js";

/** What happened, as the part of the daemon that saw it reports it. */
export interface Alert {
  kind: AlertKind;
  /** The route and target concerned (delivery.dead, target.paused, target.resumed). */
  route?: string;
  target?: string;
  /** The event whose delivery failed (delivery.dead). */
  eventId?: string;
  attempts?: number;
  /** The last error, a config error's text, the store's fault. */
  error?: string;
  /**
   * Names the happening itself (a pause, by its target and start): instances sharing a store that
   * each see it store one alert, unless the route has a `dedupe` of its own.
   */
  key?: string;
}

/**
 * The body of an alert event: what filters and transforms see as `body`, and what every preset
 * formats. `grouped` says how many occurrences this one message stands for.
 */
export interface AlertBody {
  kind: AlertKind;
  severity: AlertSeverity;
  title: string;
  message: string;
  route?: string;
  target?: string;
  eventId?: string;
  attempts?: number;
  error?: string;
  /** How many alerts of this kind for this subject this message covers (1, or more when grouped). */
  grouped: number;
  /** ISO time of the first occurrence it covers. */
  since: string;
  /** ISO time it was raised. */
  at: string;
  /** The event in the console, when `server.public_url` is set. */
  url?: string;
}

/** An alert's subject: the target it is about, else nothing (one group per kind). */
export function subjectOf(alert: Alert): string {
  return alert.route !== undefined && alert.target !== undefined ? `${alert.route}/${alert.target}` : "";
}

/** A message bounded in size: an error text can be a whole HTML page. */
const ERROR_CHARS = 1000;

function clip(text: string): string {
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS)}…` : text;
}

function describe(alert: Alert): { title: string; message: string } {
  const spec: { title(a: Alert, subject: string): string; message(a: Alert, subject: string, error: string): string } =
    ALERT_KINDS[alert.kind];
  const subject = subjectOf(alert);
  return { title: spec.title(alert, subject), message: spec.message(alert, subject, alert.error === undefined ? "" : clip(alert.error)) };
}

/** The alert as its body, `grouped` occurrences since `since`. */
export function alertBody(alert: Alert, grouped: number, since: number, now: number, publicUrl?: string): AlertBody {
  const { title, message } = describe(alert);
  const more =
    grouped > 1
      ? ` (${grouped} alerts of this kind${subjectOf(alert) ? " for this target" : ""} grouped since ${new Date(since).toISOString()})`
      : "";
  const url =
    publicUrl !== undefined && alert.eventId !== undefined
      ? `${publicUrl.replace(/\/+$/, "")}/#/events/${encodeURIComponent(alert.eventId)}`
      : undefined;
  return {
    kind: alert.kind,
    severity: ALERT_KINDS[alert.kind].severity,
    title,
    message: `${message}${more}`.trim(),
    ...(alert.route !== undefined ? { route: alert.route } : {}),
    ...(alert.target !== undefined ? { target: alert.target } : {}),
    ...(alert.eventId !== undefined ? { eventId: alert.eventId } : {}),
    ...(alert.attempts !== undefined ? { attempts: alert.attempts } : {}),
    ...(alert.error !== undefined ? { error: clip(alert.error) } : {}),
    grouped,
    since: new Date(since).toISOString(),
    at: new Date(now).toISOString(),
    ...(url !== undefined ? { url } : {}),
  };
}

/** Alert events have this method; their path is the kind. */
export const ALERT_METHOD = "EVENT";
/** The header that marks an alert event, valued with its kind. */
export const ALERT_HEADER = "x-switchyard-alert";

/** An alert as a stored event of the route that listens for it: a JSON body, like a webhook's. */
export function alertEvent(route: string, body: AlertBody, now: number): ReceivedEvent {
  return receivedEvent(
    {
      id: newEventId(now),
      route,
      receivedAt: new Date(now).toISOString(),
      method: ALERT_METHOD,
      path: body.kind,
      query: {},
      headers: { "content-type": "application/json", [ALERT_HEADER]: body.kind },
      rawBody: Buffer.from(JSON.stringify(body), "utf8"),
    },
    { value: body },
  );
}

/** The alert body of a stored event, when it is one (presets format alerts and webhooks alike). */
export function alertBodyOf(event: ReceivedEvent): AlertBody | undefined {
  if (event.method !== ALERT_METHOD || event.headers[ALERT_HEADER] === undefined) return undefined;
  const body = event.body;
  return typeof body === "object" && body !== null && "kind" in body && "title" in body ? (body as AlertBody) : undefined;
}
