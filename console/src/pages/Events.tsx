import { useEffect, useRef, useState } from "preact/hooks";
import { query } from "../api.js";
import { Empty, Problem, StateBadge } from "../components.js";
import { useApi } from "../context.js";
import { ago, time } from "../format.js";
import { useGet } from "../hooks.js";
import { eventHref, setParams } from "../route.js";
import { follow } from "../stream.js";
import { DELIVERY_STATES, type EventPage } from "../types.js";
import { RouteOptions, useRouteNames } from "./route-names.js";

/**
 * Events, newest first. Filters live in the address (a filtered view can be bookmarked or
 * shared); paging is by the API's cursor, so page 500 costs what page 1 does. The live tail
 * re-reads the first page when the stream says something changed, so every filter (the JSONata
 * search too) applies to it exactly as to a normal load.
 */

const PAGE_SIZE = 50;
const FILTERS = ["route", "target", "state", "since", "until", "q"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function fromParams(params: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** datetime-local gives local time without a zone; the API wants an instant. */
function instant(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function Events({ params }: { params: URLSearchParams }) {
  const api = useApi();
  const routes = useRouteNames();
  const [filters, setFilters] = useState<Filters>(() => fromParams(params));
  const [draft, setDraft] = useState<Filters>(filters);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [tail, setTail] = useState(params.get("tail") === "1");
  const [connected, setConnected] = useState(false);
  const [announce, setAnnounce] = useState("");
  const cursor = cursors[cursors.length - 1];
  const path = `/events${query({
    route: filters.route,
    target: filters.target,
    state: filters.state,
    q: filters.q,
    since: instant(filters.since),
    until: instant(filters.until),
    before: cursor,
    limit: PAGE_SIZE,
  })}`;
  const page = useGet<EventPage>(path);
  const seen = useRef<Set<string>>(new Set());

  useEffect(() => setParams("/events", { ...filters, tail: tail ? "1" : undefined }), [filters, tail]);

  // New rows found by the tail are announced (a live region), not the whole table again.
  useEffect(() => {
    const ids = page.data?.events.map((e) => e.id) ?? [];
    const fresh = seen.current.size ? ids.filter((id) => !seen.current.has(id)).length : 0;
    if (tail && fresh) setAnnounce(`${fresh} new event${fresh === 1 ? "" : "s"}`);
    seen.current = new Set(ids);
  }, [page.data, tail]);

  const onFirstPage = cursors.length === 1;
  const { reload } = page;
  useEffect(() => {
    if (!tail || !onFirstPage) return;
    let pending: ReturnType<typeof setTimeout> | undefined;
    const stop = follow(
      api,
      (m) => {
        // Refusals are not events; "dropped" means this tab fell behind and missed some.
        if (m.event !== "event" && m.event !== "delivery" && m.event !== "dropped") return;
        // Bursts of messages cost one read of the first page, at most one a second.
        pending ??= setTimeout(() => {
          pending = undefined;
          reload();
        }, 1000);
      },
      setConnected,
    );
    return () => {
      stop();
      if (pending) clearTimeout(pending);
      setConnected(false);
    };
  }, [api, tail, onFirstPage, reload]);

  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([undefined]);
    setFilters({ ...draft });
  };
  const field = (k: keyof Filters) => ({
    id: `f-${k}`,
    name: k,
    value: draft[k] ?? "",
    onInput: (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <>
      <h1>Events</h1>
      <form class="filters card" onSubmit={apply} aria-label="Filter events">
        <div class="field">
          <label for="f-route">Route</label>
          <select {...field("route")}>
            <option value="">any</option>
            <RouteOptions routes={routes} />
          </select>
        </div>
        <div class="field">
          <label for="f-target">Target</label>
          <input {...field("target")} placeholder="any" list="target-names" />
          <datalist id="target-names">
            {[...new Set(routes.flatMap((r) => r.targets))].map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="f-state">Delivery state</label>
          <select {...field("state")}>
            <option value="">any</option>
            {DELIVERY_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-since">From</label>
          <input {...field("since")} type="datetime-local" step="1" />
        </div>
        <div class="field">
          <label for="f-until">Until</label>
          <input {...field("until")} type="datetime-local" step="1" />
        </div>
        <div class="field wide">
          <label for="f-q">Search (JSONata over the event)</label>
          <input {...field("q")} placeholder='body.repository.full_name = "me/app"' spellcheck={false} autocomplete="off" />
        </div>
        <div class="actions">
          <button type="submit">Apply</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft({});
              setFilters({});
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
          <label class="check">
            <input type="checkbox" checked={tail} disabled={!onFirstPage} onChange={(e) => setTail(e.currentTarget.checked)} />
            Live tail
          </label>
          <span class="muted" aria-hidden="true">
            {tail ? (connected ? "● following" : "○ connecting…") : ""}
          </span>
        </div>
      </form>
      <p class="visually-hidden" aria-live="polite" aria-atomic="true">
        {announce}
      </p>
      <Problem error={page.error} />
      {page.data && <EventTable events={page.data.events} />}
      {page.data && !page.data.events.length && !page.data.next && (
        <Empty>{Object.keys(filters).length ? "No event matches these filters." : "No events stored yet."}</Empty>
      )}
      {page.data?.next && page.data.events.length < PAGE_SIZE && page.data.scanned !== undefined && (
        <p class="muted" role="status">
          {page.data.events.length ? `${page.data.events.length} found` : "None found"} in the {page.data.scanned.toLocaleString("en")}{" "}
          events looked at so far; Older searches on.
        </p>
      )}
      <div class="pager">
        <button type="button" class="secondary" disabled={onFirstPage} onClick={() => setCursors([undefined])}>
          Newest
        </button>
        <button type="button" class="secondary" disabled={onFirstPage} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!page.data?.next}
          onClick={() => {
            const next = page.data?.next;
            if (next) setCursors([...cursors, next]);
          }}
        >
          Older
        </button>
      </div>
    </>
  );
}

function EventTable({ events }: { events: EventPage["events"] }) {
  if (!events.length) return null;
  const now = Date.now();
  return (
    <div class="table-wrap">
      <table class="events">
        <caption class="visually-hidden">Events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Route</th>
            <th scope="col">Event</th>
            <th scope="col">Deliveries</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}>
              <td>
                <time dateTime={e.receivedAt} title={e.receivedAt}>
                  {time(e.receivedAt)}
                </time>{" "}
                <span class="muted">{ago(e.receivedAt, now)}</span>
              </td>
              <td>{e.route}</td>
              <td>
                <a class="mono" href={eventHref(e.id)}>
                  {e.id}
                </a>
              </td>
              <td>
                <ul class="deliveries">
                  {e.deliveries.map((d) => (
                    <li key={d.id}>
                      <span class="target">{d.target}</span> <StateBadge state={d.state} />
                      {d.attempts > 1 && <span class="muted"> ×{d.attempts}</span>}
                    </li>
                  ))}
                  {!e.deliveries.length && <li class="muted">no target</li>}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
