import { useState } from "preact/hooks";
import { Empty, Pre, Problem, Section, StateBadge } from "../components.js";
import { useApi } from "../context.js";
import { ms, prettyBody, time } from "../format.js";
import { useGet } from "../hooks.js";
import type { Attempt, EventDetail, ReplayResult } from "../types.js";

/**
 * One event: the request as received (headers already redacted by the daemon) and every
 * target's attempts. Everything here came from a webhook sender, so it is rendered as text.
 */

export function EventDetailPage({ id }: { id: string }) {
  const api = useApi();
  const got = useGet<EventDetail>(`/events/${encodeURIComponent(id)}`);
  const [status, setStatus] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [curl, setCurl] = useState<string | undefined>(undefined);

  const replay = async (targets?: string[]) => {
    setBusy(true);
    setStatus("");
    try {
      const r = await api.post<ReplayResult>(`/events/${encodeURIComponent(id)}/replay`, targets ? { targets } : {});
      setStatus(
        r.replayed
          ? `Queued ${r.replayed} deliver${r.replayed === 1 ? "y" : "ies"} again.`
          : "Nothing to replay: every matching delivery is already waiting or in flight.",
      );
      got.reload();
    } catch (e) {
      setStatus(`Replay failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const copyCurl = async () => {
    try {
      const r = await api.get<{ curl: string }>(`/events/${encodeURIComponent(id)}/curl`);
      setCurl(r.curl);
      // Clipboard needs a secure context (localhost is one); the text stays on the page otherwise.
      await navigator.clipboard?.writeText(r.curl).then(
        () => setStatus("Copied a signed curl command to the clipboard."),
        () => setStatus("The signed curl command is below; select it to copy."),
      );
    } catch (e) {
      setStatus(`No curl command: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  if (got.error) return <Problem error={got.error} />;
  const e = got.data;
  if (!e) return <p class="muted">Loading…</p>;
  const req = e.request ?? {};
  // Text is shown as received, even when it happens to parse as JSON; JSON and form fields pretty-printed.
  const body = req.bodyKind === "text" ? { text: String(req.body ?? ""), json: false } : prettyBody(req.body === "" ? undefined : req.body);
  const bodyLabel = req.bodyKind === "form" ? "(form fields)" : body.json ? "(JSON)" : "(raw)";
  const headers = Object.entries(req.headers ?? {});
  const queryEntries = Object.entries(req.query ?? {});

  return (
    <>
      <p>
        <a href="#/events">← Events</a>
      </p>
      <h1>
        Event <span class="mono">{e.id}</span>
      </h1>
      <p class="meta">
        <span>
          Route <strong>{e.route}</strong>
        </span>
        <span>
          received <time dateTime={e.receivedAt}>{time(e.receivedAt)}</time>
        </span>
        <span class="mono">
          {req.method ?? "POST"} {req.path ?? ""}
        </span>
      </p>
      <div class="toolbar">
        <button type="button" disabled={busy} onClick={() => replay()}>
          Replay to all targets
        </button>
        <button type="button" class="secondary" onClick={copyCurl}>
          Copy signed curl
        </button>
        <output class="status" aria-live="polite">
          {status}
        </output>
      </div>
      {curl && <Pre text={curl} label="Signed curl command" />}

      <Section title="Deliveries">
        {!e.deliveries.length && <Empty>This route has no target that took the event.</Empty>}
        {e.deliveries.map((d) => (
          <article class="delivery" key={d.id} aria-label={`Delivery to ${d.target}`}>
            <div class="card-head">
              <h3>
                {d.target} <StateBadge state={d.state} />
              </h3>
              <button type="button" class="secondary" disabled={busy} onClick={() => replay([d.target])}>
                Replay to {d.target}
              </button>
            </div>
            {d.lastError && <p class="error-text">Last error: {d.lastError}</p>}
            <AttemptTable attempts={d.attemptLog ?? []} target={d.target} />
          </article>
        ))}
      </Section>

      <Section title="Request as received">
        {queryEntries.length > 0 && <Pre label="Query" text={queryEntries.map(([k, v]) => `${k}=${String(v)}`).join("\n")} />}
        <div class="table-wrap">
          <table class="kv">
            <caption>Headers (credentials redacted)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {headers.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row" class="mono">
                    {k}
                  </th>
                  <td class="mono">{Array.isArray(v) ? v.join(", ") : String(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <h3>Body {bodyLabel}</h3>
        {body.text ? <Pre label="Request body" text={body.text} /> : <Empty>Empty body.</Empty>}
      </Section>
    </>
  );
}

function AttemptTable({ attempts, target }: { attempts: Attempt[]; target: string }) {
  if (!attempts.length) return <Empty>No attempt yet.</Empty>;
  return (
    <div class="table-wrap">
      <table class="attempts">
        <caption class="visually-hidden">Attempts to deliver to {target}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
            <th scope="col">Outcome</th>
            <th scope="col">Status / exit</th>
            <th scope="col">Error and response</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={`${a.attempt}-${String(a.startedAt)}`}>
              <td>{a.attempt}</td>
              <td class="when">{time(a.startedAt)}</td>
              <td class="when">{ms(a.durationMs)}</td>
              <td>
                <StateBadge state={a.outcome} />
              </td>
              <td>{a.status ?? (a.exitCode !== null && a.exitCode !== undefined ? `exit ${a.exitCode}` : "—")}</td>
              <td>
                {a.error && <div class="error-text">{a.error}</div>}
                {a.response ? (
                  <details>
                    <summary>Response ({a.response.length} chars)</summary>
                    <Pre label={`Response to attempt ${a.attempt}`} text={a.response} />
                  </details>
                ) : (
                  !a.error && <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
