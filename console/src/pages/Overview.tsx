import { useMemo, useState } from "preact/hooks";
import { Empty, Problem, Section } from "../components.js";
import { useApi } from "../context.js";
import { ago, duration, ms, num, percent, time } from "../format.js";
import { useGet } from "../hooks.js";
import { RateChart } from "../RateChart.js";
import { type ReloadError, type RouteOverview, receivedSeries, type Status } from "./overview-data.js";

/** Is it working? Every route's traffic, every target's health, and the config's last reload. */
export function Overview() {
  const status = useGet<Status>("/status", 10_000);
  const routes = useGet<{ routes: RouteOverview[] }>("/routes", 10_000);
  const s = status.data;
  const r = routes.data?.routes;
  const hour = useMemo(() => receivedSeries(r ?? [], "hour"), [r]);
  const day = useMemo(() => receivedSeries(r ?? [], "day"), [r]);
  return (
    <>
      <h1>Overview</h1>
      <Problem error={status.error ?? routes.error} />
      {s && <StatusCard status={s} />}
      {r && (
        <>
          <div class="grid">
            <section class="card" aria-labelledby="rate-hour">
              <h2 id="rate-hour">Events per minute, last hour</h2>
              {hour.lines.length ? (
                <RateChart series={hour} title="Requests received per minute, by route" unit="/min" />
              ) : (
                <Empty>No route.</Empty>
              )}
            </section>
            <section class="card" aria-labelledby="rate-day">
              <h2 id="rate-day">Events per 15 minutes, last 24 hours</h2>
              {day.lines.length ? (
                <RateChart series={day} title="Requests received per 15 minutes, by route" unit="/15 min" />
              ) : (
                <Empty>No route.</Empty>
              )}
            </section>
          </div>
          <RoutesTable routes={r} />
          <TargetsTable routes={r} reload={routes.reload} />
        </>
      )}
    </>
  );
}

/** As `check` prints it: the message names file, line and place already; otherwise they are added. */
function reloadErrorText(e: ReloadError): string {
  if (e.line !== undefined && e.message.includes(`:${e.line}:`)) return e.message;
  return [e.line !== undefined ? `line ${e.line}` : "", e.place ?? "", e.message].filter(Boolean).join(": ");
}

function StatusCard({ status }: { status: Status }) {
  const reload = status.lastReload;
  const queue = typeof status.queue === "string" ? undefined : status.queue;
  return (
    <Section title="Daemon">
      <dl class="facts">
        <dt>Version</dt>
        <dd>{status.version ?? "—"}</dd>
        <dt>Uptime</dt>
        <dd>{duration(status.uptimeSeconds)}</dd>
        <dt>Store</dt>
        <dd>{status.store ?? "—"}</dd>
        <dt>Config file</dt>
        <dd class="mono">{status.config ?? "—"}</dd>
        <dt>Last reload</dt>
        <dd>
          {!reload && "none since the daemon started"}
          {reload?.ok === true && (
            <span>
              <span class="state state-delivered">succeeded</span> {time(reload.at)} {reload.trigger ? `(${reload.trigger})` : ""}
            </span>
          )}
          {reload?.ok === false && (
            <>
              <span class="state state-dead">failed</span> {time(reload.at)} {reload.trigger ? `(${reload.trigger})` : ""} — the previous
              config keeps serving
              <ul class="reload-errors">
                {reload.errors.map((e, i) => (
                  <li key={i} class="error-text mono">
                    {reloadErrorText(e)}
                  </li>
                ))}
              </ul>
            </>
          )}
        </dd>
        <dt>Queue</dt>
        <dd>{queue ? `${num(queue.pending)} pending · ${num(queue.retrying)} retrying · ${num(queue.dead)} dead` : "store unavailable"}</dd>
      </dl>
    </Section>
  );
}

function RoutesTable({ routes }: { routes: RouteOverview[] }) {
  return (
    <Section title="Routes">
      {!routes.length ? (
        <Empty>The config has no route.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Requests per route, last 24 hours</caption>
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col">Path</th>
                <th scope="col" class="num">
                  Received
                </th>
                <th scope="col" class="num">
                  Accepted
                </th>
                <th scope="col" class="num">
                  Refused
                </th>
                <th scope="col" class="num">
                  Ignored
                </th>
                <th scope="col" class="num">
                  Duplicate
                </th>
              </tr>
            </thead>
            <tbody>
              {routes.map((r) => (
                <tr key={r.name}>
                  <th scope="row">
                    <a href={`#/events?route=${encodeURIComponent(r.name)}`}>{r.name}</a>
                  </th>
                  <td class="mono">{r.on ? `on ${r.on.join(", ")}` : r.path}</td>
                  <td class="num">{num(r.received)}</td>
                  <td class="num">{num(r.accepted)}</td>
                  <td class="num">{num(r.refused)}</td>
                  <td class="num">{num(r.ignored)}</td>
                  <td class="num">{num(r.duplicate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small">Counts over the last 24 hours, kept in the store: they survive restarts.</p>
        </div>
      )}
    </Section>
  );
}

function TargetsTable({ routes, reload }: { routes: RouteOverview[]; reload: () => void }) {
  const api = useApi();
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const rows = routes.flatMap((r) => r.targets.map((t) => ({ route: r.name, ...t })));
  // Resuming is a write: the API asks for the admin token when the daemon wants one.
  const resume = async (route: string, target: string) => {
    setBusy(true);
    try {
      await api.post(`/targets/${encodeURIComponent(route)}/${encodeURIComponent(target)}/resume`, {});
      setStatus(`Resumed ${route} / ${target}: its waiting deliveries go out now.`);
      reload();
    } catch (e) {
      setStatus(`Resume failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Targets">
      {status && (
        <output class="status" aria-live="polite">
          {status}
        </output>
      )}
      {!rows.length ? (
        <Empty>No target.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">
              Deliveries per target: delivered, success rate and latency over the last 24 hours; failing, dead and queued now
            </caption>
            <thead>
              <tr>
                <th scope="col">Route / target</th>
                <th scope="col" class="num">
                  Delivered
                </th>
                <th scope="col" class="num">
                  Failing
                </th>
                <th scope="col" class="num">
                  Dead
                </th>
                <th scope="col" class="num">
                  Success
                </th>
                <th scope="col" class="num">
                  p50
                </th>
                <th scope="col" class="num">
                  p95
                </th>
                <th scope="col" class="num">
                  Queued
                </th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={`${t.route}/${t.name}`}>
                  <th scope="row">
                    <a href={`#/events?route=${encodeURIComponent(t.route)}&target=${encodeURIComponent(t.name)}`}>
                      {t.route} / {t.name}
                    </a>
                    {t.connected !== undefined && (
                      <span class={`small ${t.connected ? "muted" : "error-text"}`}> {t.connected ? "connected" : "not connected"}</span>
                    )}
                    {t.paused && (
                      <>
                        {" "}
                        <span class="state state-dead" title={`paused since ${time(t.paused.since)}: ${t.paused.error}`}>
                          paused
                        </span>{" "}
                        <button
                          type="button"
                          class="secondary"
                          disabled={busy}
                          aria-label={`Resume ${t.route} / ${t.name}`}
                          onClick={() => resume(t.route, t.name)}
                        >
                          Resume
                        </button>
                      </>
                    )}
                  </th>
                  <td class="num">{num(t.delivered)}</td>
                  <td class="num">{num(t.failing)}</td>
                  <td class="num">
                    {t.dead ? <a href={`#/dead-letters?route=${encodeURIComponent(t.route)}`}>{num(t.dead)}</a> : num(t.dead)}
                  </td>
                  <td class="num">{percent(t.successRate)}</td>
                  <td class="num">{ms(t.latencyMs.p50)}</td>
                  <td class="num">{ms(t.latencyMs.p95)}</td>
                  <td class="num">
                    {num(t.queueDepth.pending + t.queueDepth.retrying)}
                    {t.relayLagSeconds !== undefined && (
                      <span class="muted" title="relay: age of the oldest event the home has not pulled yet">
                        {" "}
                        lag {duration(t.relayLagSeconds)}
                      </span>
                    )}
                  </td>
                  <td class="small">
                    {t.lastError ? (
                      <>
                        <span class="error-text">{t.lastError.error}</span> <span class="muted">{ago(t.lastError.at)}</span>
                      </>
                    ) : (
                      ""
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
