import { useEffect, useState } from "preact/hooks";
import { query } from "../api.js";
import { Empty, Problem } from "../components.js";
import { useApi } from "../context.js";
import { time } from "../format.js";
import { useGet } from "../hooks.js";
import { eventHref, setParams } from "../route.js";
import { type DeadLetter, listIn, type ReplayResult } from "../types.js";
import { RouteOptions, useRouteNames } from "./route-names.js";

/** Deliveries that ran out of attempts: pick some and replay them, or replay every one a filter matches. */
export function DeadLetters({ params }: { params: URLSearchParams }) {
  const api = useApi();
  const routes = useRouteNames();
  const [route, setRoute] = useState(params.get("route") ?? "");
  const got = useGet<unknown>(`/dead-letters${query({ route })}`);
  const letters = listIn<DeadLetter>(got.data, "deadLetters", "dead_letters", "items");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => setParams("/dead-letters", { route }), [route]);
  useEffect(() => setSelected(new Set()), [got.data]);

  const replay = async (body: { ids: string[] } | { route: string } | { all: true }, what: string) => {
    setBusy(true);
    try {
      const r = await api.post<ReplayResult>("/dead-letters/replay", body);
      const missing = r.notFound?.length ? ` ${r.notFound.length} were no longer dead (replayed meanwhile?).` : "";
      setStatus(`Replayed ${r.replayed} ${what}.${missing}`);
      got.reload();
    } catch (e) {
      setStatus(`Replay failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const allOn = letters.length > 0 && letters.every((l) => selected.has(l.id));

  return (
    <>
      <h1>Dead letters</h1>
      <p class="lead">Deliveries that ran out of attempts or failed for good. They stay here, with their last error, until replayed.</p>
      <div class="toolbar card">
        <div class="field">
          <label for="dl-route">Route</label>
          <select id="dl-route" value={route} onChange={(e) => setRoute(e.currentTarget.value)}>
            <option value="">any</option>
            <RouteOptions routes={routes} />
          </select>
        </div>
        <button type="button" disabled={busy || !selected.size} onClick={() => replay({ ids: [...selected] }, "selected")}>
          Replay selected ({selected.size})
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy || !letters.length}
          onClick={() => replay(route ? { route } : { all: true }, route ? `dead letters of ${route}` : "dead letters")}
        >
          {route ? `Replay all of ${route}` : "Replay all"}
        </button>
        <output class="status" aria-live="polite">
          {status}
        </output>
      </div>
      <Problem error={got.error} />
      {got.data !== undefined && !letters.length && (
        <Empty>No dead letters{route ? ` for ${route}` : ""}. Every delivery got through or is still trying.</Empty>
      )}
      {letters.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Dead letters</caption>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select every dead letter shown"
                    checked={allOn}
                    onChange={(e) => setSelected(e.currentTarget.checked ? new Set(letters.map((l) => l.id)) : new Set())}
                  />
                </th>
                <th scope="col">Failed</th>
                <th scope="col">Route</th>
                <th scope="col">Target</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col">Event</th>
              </tr>
            </thead>
            <tbody>
              {letters.map((l) => (
                <tr key={l.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select the delivery of event ${l.eventId} to ${l.target}`}
                      checked={selected.has(l.id)}
                      onChange={(e) => toggle(l.id, e.currentTarget.checked)}
                    />
                  </td>
                  <td class="when">{time(l.failedAt ?? l.receivedAt)}</td>
                  <td>{l.route}</td>
                  <td>{l.target}</td>
                  <td>{l.attempts}</td>
                  <td class="error-text">{l.lastError ?? "—"}</td>
                  <td>
                    <a class="mono" href={eventHref(l.eventId)}>
                      {l.eventId}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
