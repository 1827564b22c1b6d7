import { Empty, Problem } from "../components.js";
import { ago, time } from "../format.js";
import { useGet } from "../hooks.js";
import { listIn, type Rejection } from "../types.js";

/**
 * Requests the daemon refused (401, 400, 413…): why GitHub shows a red cross. The daemon keeps
 * them in a bounded ring in memory, never a body or a credential; the page says so.
 */
export function Refused() {
  const got = useGet<unknown>("/rejections", 5000);
  const rows = listIn<Rejection>(got.data, "rejections", "items");
  const note = (got.data as { note?: unknown } | undefined)?.note;
  const now = Date.now();
  return (
    <>
      <h1>Refused requests</h1>
      <p class="lead">
        The most recent requests this daemon refused: why a provider shows a failed delivery. Neither a body nor a credential is ever kept,
        only the header names.
      </p>
      <p class="lead">
        {typeof note === "string"
          ? `${note.charAt(0).toUpperCase()}${note.slice(1)}.`
          : "Kept in a bounded ring in memory only: a restart empties it."}
      </p>
      <Problem error={got.error} />
      {got.data !== undefined && !rows.length && <Empty>No refused request since the daemon started.</Empty>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Refused requests, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Route</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Remote address</th>
                <th scope="col">User agent</th>
                <th scope="col">Header names</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => {
                const at = r.at ?? r.time;
                return (
                  <tr key={i}>
                    <td class="when">
                      {time(at)} <span class="muted">{ago(at, now)}</span>
                    </td>
                    <td>{r.route ?? <span class="mono">{r.path ?? "—"}</span>}</td>
                    <td>{r.status ?? "—"}</td>
                    <td>{r.reason}</td>
                    <td class="mono">{r.remoteAddress ?? "—"}</td>
                    <td class="clip">{r.userAgent ?? "—"}</td>
                    <td class="mono small">{(r.headerNames ?? []).join(", ")}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
