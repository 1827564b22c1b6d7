import { ALERT_HEADER, ALERT_METHOD } from "../alerts/alert.js";
import type { CompiledConfig, CompiledRoute } from "../config/compile.js";
import { formatSize } from "../config/units.js";
import { ExpressionError } from "../errors.js";
import type { InboundRequest } from "../plugins/verifiers/verifier.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../server/json-depth.js";
import { admit } from "./admit.js";
import { prepare } from "./prepare.js";
import { type AnswerReport, ignoredReport, type RespondReport, respondReport } from "./respond-report.js";

/**
 * One request through the exact compiled route, offline: what verification, the route filter
 * and each target would do. Delivers nothing, touches no store. `switchyard test` prints it; the
 * console's "try a route" shows it.
 */

/** What a target would do with the event: `switchyard test` prints it, `--json` as is. */
export interface TargetReport {
  name: string;
  type: string;
  /** "pass": its filter kept the event; "none": it has no filter; "no": its filter dropped it. */
  filter?: "pass" | "none" | "no";
  /** The rendered delivery (http: method, url, headers, body; exec: argv, env, stdin). */
  would?: Record<string, unknown>;
  error?: string;
}

/** The dry run's result, in the order it is printed. */
export interface DryRunReport {
  /** An `on` route's kinds. */
  on?: string[];
  route: string;
  path: string;
  verify: string;
  verification: string;
  deliveryId?: string;
  dedupeKey?: string;
  handshake?: unknown;
  /** What the daemon would do to complete the handshake (a dry run does not). */
  handshakeFollowUp?: string;
  routeFilter?: "pass" | "none" | "no" | { error: string };
  error?: string;
  /** The HTTP status the webhook would get. */
  answer: number;
  /** The route's `respond`: the answer it gives a stored event (a target's is described, not fetched). */
  respond?: RespondReport;
  /** `respond.ignored`: the answer an ignored event gets. */
  ignoredAnswer?: AnswerReport;
  targets?: TargetReport[];
}

export interface DryRunRequest {
  rawBody: Buffer;
  /** Lower-cased names. */
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The address the request would come from (`test --client`), for a filter on `client`. */
  client?: string;
}

/** The kind an alert body names, when the route listens for it; else the route's first kind. */
function alertKindOf(rawBody: Buffer, kinds: readonly string[]): string {
  try {
    const kind = (JSON.parse(rawBody.toString("utf8")) as { kind?: unknown }).kind;
    if (typeof kind === "string" && kinds.includes(kind)) return kind;
  } catch {
    // Not JSON: the route's first kind, and the body as it is.
  }
  return kinds[0] ?? "";
}

export async function dryRunRequest(config: CompiledConfig, route: CompiledRoute, request: DryRunRequest): Promise<DryRunReport> {
  const { rawBody } = request;
  const headers = { ...request.headers };
  if (!headers["content-type"] && /^\s*[[{]/.test(rawBody.toString("utf8"))) headers["content-type"] = "application/json";
  // An `on` route's events are the daemon's own: the body is an alert body, and the event looks
  // as the daemon would store it, so a preset formats it as the alert it is.
  const alertKind = route.on ? alertKindOf(rawBody, route.on) : undefined;
  if (alertKind) headers[ALERT_HEADER] = alertKind;
  const req: InboundRequest = alertKind
    ? { method: ALERT_METHOD, path: alertKind, headers, query: request.query, rawBody, receivedAt: Date.now() }
    : {
        method: "POST",
        path: route.path,
        headers,
        query: request.query,
        rawBody,
        receivedAt: Date.now(),
        ...(request.client === undefined ? {} : { client: request.client }),
      };

  const report = { route: route.name, path: route.path, verify: route.verifyType, ...(route.on ? { on: [...route.on] } : {}) };
  // The daemon refuses these before verification, whatever the route: so does the dry run.
  const notReached = "not reached: the body is refused first";
  const { bodyLimit } = config.server;
  if (rawBody.length > bodyLimit) {
    const error = `body too large: ${rawBody.length} bytes, over server.body_limit (${formatSize(bodyLimit)})`;
    return { ...report, verification: notReached, answer: 413, error };
  }
  if (jsonTooDeep(rawBody)) {
    return { ...report, verification: notReached, answer: 400, error: `body nested too deeply (over ${MAX_JSON_DEPTH} levels)` };
  }
  let admission: Awaited<ReturnType<typeof admit>>;
  try {
    admission = await admit(route, req);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return { ...report, verification: "ok", routeFilter: { error: err.message }, answer: 500 };
  }
  switch (admission.kind) {
    case "rejected":
      return {
        ...report,
        verification:
          admission.reason === "missing_signature"
            ? "unsigned: use --sign to sign it with the route's secret"
            : `failed: ${admission.reason}`,
        answer: 401,
      };
    case "invalid":
      return {
        ...report,
        verification: "ok",
        answer: 400,
        error: admission.reason === "body_not_multipart" ? "body is not valid multipart/form-data" : "body is not valid JSON",
      };
    case "handshake":
      return {
        ...report,
        verification: "ok",
        handshake: admission.answer.body,
        ...(admission.answer.followUp ? { handshakeFollowUp: admission.answer.followUp.what } : {}),
        answer: admission.answer.status,
      };
    case "ignored": {
      const ignored = { ...report, verification: "ok", deliveryId: admission.deliveryId, routeFilter: "no" as const };
      try {
        const answer = await ignoredReport(route.respond, admission.event);
        return answer ? { ...ignored, answer: answer.status, ignoredAnswer: answer } : { ...ignored, answer: 200 };
      } catch (err) {
        if (!(err instanceof ExpressionError)) throw err;
        return { ...ignored, answer: 500, error: err.message };
      }
    }
    case "accept":
      break;
  }
  const { event } = admission;
  let respond: RespondReport | undefined;
  try {
    respond = await respondReport(route.respond, event);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    // The daemon answers 500 and stores nothing: the targets are not reached.
    return { ...report, verification: "ok", routeFilter: route.filter ? "pass" : "none", answer: 500, error: err.message };
  }
  const targets: TargetReport[] = [];
  for (const t of route.targets) {
    const entry: TargetReport = { name: t.name, type: t.type };
    try {
      const prepared = await prepare(t, event);
      if (prepared.skip) entry.filter = "no";
      else {
        entry.filter = t.filter ? "pass" : "none";
        entry.would = await t.target.render(prepared.input);
      }
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      entry.error = err.message;
    }
    targets.push(entry);
  }
  return {
    ...report,
    verification: "ok",
    deliveryId: admission.deliveryId,
    dedupeKey: admission.dedupeKey,
    routeFilter: route.filter ? "pass" : "none",
    answer: respond?.kind === "fixed" ? respond.answer.status : 202,
    ...(respond ? { respond } : {}),
    targets,
  };
}
