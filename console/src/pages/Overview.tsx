import { Empty, Problem, Section } from "../components.js";
import { duration, ms, num, percent, time } from "../format.js";
import { useGet } from "../hooks.js";
import { RateChart } from "../RateChart.js";
import { type OverviewRoute, readRoutes, readStatus, type Status } from "./overview-data.js";

/** Is it working? Every route's traffic, every target's health, and the config's last reload. */
export function Overview() {
  const status = useGet<unknown>("/status", 10_000);
  const routes = useGet<unknown>("/routes", 10_000);
  const s = status.data === undefined ? undefined : readStatus(status.data);
  const r = routes.data === undefined ? undefined : readRoutes(routes.data);
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
              {r.hour.lines.length ? <RateChart series={r.hour} title="received per minute" unit="/min" /> : <Empty>No route.</Empty>}
            </section>
            <section class="card" aria-labelledby="rate-day">
              <h2 id="rate-day">Events per hour, last 24 hours</h2>
              {r.day.lines.length ? <RateChart series={r.day} title="received per hour" unit="/h" /> : <Empty>No route.</Empty>}
            </section>
          </div>
          <RoutesTable routes={r.routes} window={r.window} />
          <TargetsTable routes={r.routes} window={r.window} />
        </>
      )}
    </>
  );
}

function StatusCard({ status }: { status: Status }) {
  const reload = status.reload;
  return (
    <Section title="Daemon">
      <dl class="facts">
        <dt>Version</dt>
        <dd>{status.version ?? "—"}</dd>
        <dt>Uptime</dt>
        <dd>{duration(status.uptimeSeconds)}</dd>
        <dt>Config file</dt>
        <dd class="mono">{status.config ?? "—"}</dd>
        <dt>Last reload</dt>
        <dd>
          {!reload && "—"}
          {reload?.ok === true && (
            <span>
              <span class="state state-delivered">succeeded</span> {time(reload.at)}
            </span>
          )}
          {reload?.ok === false && (
            <span>
              <span class="state state-dead">failed</span> {time(reload.at)} — the previous config keeps serving
              <pre class="code error-text">{reload.error ?? "no error text"}</pre>
            </span>
          )}
        </dd>
        <dt>Queue</dt>
        <dd>
          {status.queue
            ? `${num(status.queue.pending)} pending · ${num(status.queue.retrying)} retrying · ${num(status.queue.dead)} dead`
            : "store unavailable"}
        </dd>
      </dl>
    </Section>
  );
}

function RoutesTable({ routes, window }: { routes: OverviewRoute[]; window: string }) {
  return (
    <Section title="Routes">
      {!routes.length ? (
        <Empty>The config has no route.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Requests per route, {window}</caption>
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
                  <td class="mono">{r.path ?? "—"}</td>
                  <td class="num">{num(r.counts.received)}</td>
                  <td class="num">{num(r.counts.accepted)}</td>
                  <td class="num">{num(r.counts.refused)}</td>
                  <td class="num">{num(r.counts.ignored)}</td>
                  <td class="num">{num(r.counts.duplicate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small">Counts over {window}; they survive restarts.</p>
        </div>
      )}
    </Section>
  );
}

function TargetsTable({ routes, window }: { routes: OverviewRoute[]; window: string }) {
  const rows = routes.flatMap((r) => r.targets.map((t) => ({ route: r.name, ...t })));
  return (
    <Section title="Targets">
      {!rows.length ? (
        <Empty>No target.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Deliveries per target, {window}</caption>
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
                  </th>
                  <td class="num">{num(t.delivered)}</td>
                  <td class="num">{num(t.failing)}</td>
                  <td class="num">
                    {t.dead ? <a href={`#/dead-letters?route=${encodeURIComponent(t.route)}`}>{num(t.dead)}</a> : num(t.dead)}
                  </td>
                  <td class="num">{percent(t.successRate)}</td>
                  <td class="num">{ms(t.p50Ms)}</td>
                  <td class="num">{ms(t.p95Ms)}</td>
                  <td class="num">{num(t.queued)}</td>
                  <td class="error-text small">{t.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
