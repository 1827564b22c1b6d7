/**
 * The /api/v1 shapes the pages read. Fields the issue names are required; the rest are read
 * defensively (a daemon one version older may lack them) and pages show "—" when missing.
 */

export type DeliveryState = "pending" | "retrying" | "delivered" | "skipped" | "coalesced" | "dead";
export const DELIVERY_STATES: DeliveryState[] = ["pending", "retrying", "delivered", "skipped", "coalesced", "dead"];

export interface DeliverySummary {
  id: string;
  target: string;
  state: DeliveryState;
  attempts: number;
  lastError?: string | null;
}

export interface EventSummary {
  id: string;
  route: string;
  receivedAt: string;
  deliveries: DeliverySummary[];
}

export interface EventPage {
  events: EventSummary[];
  next: string | null;
  /** Events the daemon looked at for this page (a search reads a bounded number per request). */
  scanned?: number;
}

export interface Attempt {
  attempt: number;
  startedAt: string | number;
  durationMs?: number | null;
  outcome: string;
  status?: number | null;
  exitCode?: number | null;
  response?: string | null;
  error?: string | null;
}

export interface StoredRequest {
  method?: string;
  path?: string;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  /** How `body` is to be read: parsed JSON, form fields (an object), or text as received. */
  bodyKind?: "json" | "form" | "text" | "empty";
  body?: unknown;
}

export interface EventDetail extends EventSummary {
  request: StoredRequest;
  deliveries: (DeliverySummary & { attemptLog?: Attempt[] })[];
}

export interface DeadLetter {
  id: string;
  eventId: string;
  route: string;
  target: string;
  attempts: number;
  lastError?: string | null;
  receivedAt: string;
  failedAt?: number | string;
}

export interface Rejection {
  at?: string | number;
  time?: string | number;
  route?: string | null;
  path?: string;
  status?: number;
  reason: string;
  remoteAddress?: string;
  userAgent?: string | null;
  headerNames?: string[];
}

export interface ReplayResult {
  replayed: number;
  notFound?: string[];
}

/** The first array in an answer: `{ "deadLetters": [...] }`, `{ "items": [...] }` or a bare array. */
export function listIn<T>(answer: unknown, ...keys: string[]): T[] {
  if (Array.isArray(answer)) return answer as T[];
  if (answer && typeof answer === "object") {
    const o = answer as Record<string, unknown>;
    for (const k of keys) if (Array.isArray(o[k])) return o[k] as T[];
    for (const v of Object.values(o)) if (Array.isArray(v)) return v as T[];
  }
  return [];
}
