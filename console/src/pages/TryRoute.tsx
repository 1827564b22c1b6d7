import { useEffect, useState } from "preact/hooks";
import { Pre, Problem, Section } from "../components.js";
import { useApi } from "../context.js";
import { RouteOptions, useRouteNames } from "./route-names.js";

/**
 * A dry run through the live compiled route, as `switchyard test` does: verification, the
 * route filter, each target's filter and what it would send. Nothing is stored or delivered.
 */

interface TargetReport {
  name: string;
  type: string;
  filter?: "pass" | "none" | "no";
  would?: Record<string, unknown>;
  error?: string;
}

interface DryRunReport {
  route: string;
  path: string;
  verify: string;
  verification: string;
  deliveryId?: string;
  dedupeKey?: string;
  handshake?: unknown;
  routeFilter?: "pass" | "none" | "no" | { error: string };
  error?: string;
  answer: number;
  targets?: TargetReport[];
}

const FILTER_WORDS = { pass: "passed", none: "no filter", no: "dropped the event" } as const;

function headerLines(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return `header line ${i + 1} is not "Name: value"`;
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

export function TryRoute({ params }: { params: URLSearchParams }) {
  const api = useApi();
  const routes = useRouteNames();
  const [route, setRoute] = useState(params.get("route") ?? "");
  const [body, setBody] = useState('{\n  "hello": "world"\n}');
  const [headers, setHeaders] = useState("");
  const [sign, setSign] = useState(true);
  const [report, setReport] = useState<DryRunReport | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!route && routes[0]) setRoute(routes[0].name);
  }, [route, routes]);

  const run = async (e: Event) => {
    e.preventDefault();
    const h = headerLines(headers);
    if (typeof h === "string") {
      setError(h);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      setReport(await api.post<DryRunReport>(`/routes/${encodeURIComponent(route)}/test`, { body, headers: h, sign }));
    } catch (err) {
      setReport(undefined);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Try a route</h1>
      <p class="lead">
        What the daemon would do with a request, as <code>switchyard test</code> shows it. Nothing is stored or delivered.
      </p>
      <form class="card try" onSubmit={run}>
        <div class="field">
          <label for="try-route">Route</label>
          <select id="try-route" value={route} onChange={(e) => setRoute(e.currentTarget.value)} required>
            <RouteOptions routes={routes} />
          </select>
        </div>
        <div class="field wide">
          <label for="try-body">Payload</label>
          <textarea id="try-body" rows={10} spellcheck={false} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </div>
        <div class="field wide">
          <label for="try-headers">Headers, one "Name: value" a line (optional)</label>
          <textarea
            id="try-headers"
            rows={3}
            spellcheck={false}
            value={headers}
            placeholder="X-GitHub-Event: push"
            onInput={(e) => setHeaders(e.currentTarget.value)}
          />
        </div>
        <div class="actions">
          <label class="check">
            <input type="checkbox" checked={sign} onChange={(e) => setSign(e.currentTarget.checked)} />
            Sign it with the route's secret
          </label>
          <button type="submit" disabled={busy || !route}>
            Run
          </button>
        </div>
      </form>
      <Problem error={error} />
      {report && <Report report={report} />}
    </>
  );
}

function Report({ report }: { report: DryRunReport }) {
  const rf = report.routeFilter;
  return (
    <Section title="Result">
      <dl class="facts" aria-live="polite">
        <dt>Answer</dt>
        <dd>
          <strong>{report.answer}</strong>
        </dd>
        <dt>Verification ({report.verify})</dt>
        <dd>{report.verification}</dd>
        {report.deliveryId && (
          <>
            <dt>Delivery id</dt>
            <dd class="mono">{report.deliveryId}</dd>
          </>
        )}
        {rf !== undefined && (
          <>
            <dt>Route filter</dt>
            <dd>{typeof rf === "string" ? FILTER_WORDS[rf] : `error: ${rf.error}`}</dd>
          </>
        )}
        {report.error && (
          <>
            <dt>Error</dt>
            <dd class="error-text">{report.error}</dd>
          </>
        )}
      </dl>
      {report.handshake !== undefined && <Pre label="Handshake answer" text={JSON.stringify(report.handshake, null, 2)} />}
      {(report.targets ?? []).map((t) => (
        <article class="delivery" key={t.name} aria-label={`Target ${t.name}`}>
          <h3>
            {t.name} <span class="muted">({t.type})</span>
          </h3>
          {t.error ? <p class="error-text">{t.error}</p> : <p>Filter: {t.filter ? FILTER_WORDS[t.filter] : "—"}</p>}
          {t.would && <Pre label={`What ${t.name} would get`} text={JSON.stringify(t.would, null, 2)} />}
        </article>
      ))}
    </Section>
  );
}
