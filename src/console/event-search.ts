import { ExpressionError } from "../errors.js";
import { type Expression, isTruthy } from "../pipeline/expression.js";
import type { DeliveryState, EventCursor, Store } from "../store/store.js";
import { type EventView, eventView } from "./event-view.js";

/**
 * The events listing: newest first, by pages the store reads by index, filtered by target,
 * delivery state and a JSONata search. A search reads at most SCAN_MAX events (or SCAN_BUDGET_MS)
 * per request and answers with a cursor to go on, so a search that matches nothing on a big
 * store costs one bounded request at a time instead of a scan of everything.
 */

/** Events read per store call. */
const READ_BATCH = 100;
/** Events looked at per request, at most, when filtering. */
export const SCAN_MAX = 5_000;
/** Time spent per request, at most, when filtering. */
export const SCAN_BUDGET_MS = 120;
/** Time one event's search may take (a runaway expression fails it, not the request). */
export const SEARCH_TIMEOUT_MS = 50;

export interface EventSearch {
  route?: string;
  target?: string;
  state?: DeliveryState;
  /** A compiled JSONata expression; truthy = listed. */
  q?: Expression;
  since?: number;
  until?: number;
  before?: EventCursor;
  limit: number;
}

export interface EventSearchResult {
  events: EventView[];
  /** Where to go on (`before=`), or null at the end of the store. */
  next: EventCursor | null;
  /** Events looked at for this answer. */
  scanned: number;
}

export async function searchEvents(
  store: Store,
  s: EventSearch,
  clock: () => number = performance.now.bind(performance),
): Promise<EventSearchResult> {
  const filtered = s.target !== undefined || s.state !== undefined || s.q !== undefined;
  const range = { route: s.route, since: s.since, until: s.until };
  if (!filtered) {
    // One more than asked: whether there is a next page is known without an empty last page.
    const page = await store.eventPage({ ...range, before: s.before, limit: s.limit + 1 });
    const shown = page.slice(0, s.limit);
    return { events: shown.map(eventView), next: page.length > s.limit ? (shown.at(-1)?.cursor ?? null) : null, scanned: shown.length };
  }
  const started = clock();
  const events: EventView[] = [];
  let cursor = s.before;
  let scanned = 0;
  for (;;) {
    const page = await store.eventPage({ ...range, before: cursor, limit: READ_BATCH, withEvent: s.q !== undefined });
    for (const p of page) {
      cursor = p.cursor;
      scanned++;
      const deliveryMatches =
        (s.target === undefined && s.state === undefined) ||
        p.deliveries.some((d) => (s.target === undefined || d.target === s.target) && (s.state === undefined || d.state === s.state));
      if (deliveryMatches && (await matches(s.q, p.event))) {
        events.push(eventView(p));
        if (events.length === s.limit) return { events, next: p.cursor, scanned };
      }
      // Checked per event: a search spends most of its time evaluating, not reading.
      if (clock() - started >= SCAN_BUDGET_MS && p !== page.at(-1)) return { events, next: p.cursor, scanned };
    }
    if (page.length < READ_BATCH) return { events, next: null, scanned };
    if (scanned >= SCAN_MAX || clock() - started >= SCAN_BUDGET_MS) return { events, next: cursor ?? null, scanned };
  }
}

/** An event the expression fails on (a type error, a timeout) is not a match. */
async function matches(q: Expression | undefined, event: unknown): Promise<boolean> {
  if (q === undefined) return true;
  try {
    return isTruthy(await q.evaluate(event));
  } catch (err) {
    if (err instanceof ExpressionError) return false;
    throw err;
  }
}
