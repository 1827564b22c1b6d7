import { formatSize } from "../config/units.js";
import { ExpressionError, UserError } from "../errors.js";
import { admit } from "../pipeline/admit.js";
import { prepare } from "../pipeline/prepare.js";
import type { InboundRequest } from "../plugins/verifiers/verifier.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../server/json-depth.js";
import { capturedBody, readCapturedRequest } from "./captured-request.js";
import { findRoute, loadForCli, print } from "./common.js";
import { HeaderLines } from "./header-lines.js";
import { readBodyFile, signForRoute } from "./sign.js";

/**
 * `switchyard test`: one payload through the exact compiled route, offline. Prints what
 * verification, the route filter and each target would do; delivers nothing, touches no store.
 */

export interface TestOptions {
  config?: string;
  /** The body file; or */
  body?: string;
  /** a request `switchyard capture --out` wrote, `FILE.jsonl[:N]`: its body, headers and query. */
  request?: string;
  header?: string[];
  query?: string[];
  sign?: boolean;
  /** With --sign: a PEM private key, for public-key schemes. */
  privateKey?: string;
  json?: boolean;
}

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
  targets?: TargetReport[];
}

export async function dryRun(routeName: string, options: TestOptions): Promise<DryRunReport> {
  const config = loadForCli(options.config);
  const route = findRoute(config, routeName);
  if ((options.body === undefined) === (options.request === undefined)) {
    throw new UserError("give the request as --body FILE or as --request FILE.jsonl[:N] (from switchyard capture --out), one of the two");
  }
  const captured = options.request !== undefined ? readCapturedRequest(options.request) : undefined;
  let rawBody = captured ? capturedBody(captured) : readBodyFile(options.body ?? "-");
  // A captured request's own headers and query come along (a signature is a header); -H and -q add to them or replace.
  let headers = new HeaderLines()
    .set(captured?.headers ?? {})
    .set(HeaderLines.parse(options.header ?? []))
    .lowerCased();
  let query: Record<string, string> = {
    ...captured?.query,
    ...Object.fromEntries(new URLSearchParams((options.query ?? []).join("&"))),
  };
  if (options.sign) {
    // Signed over the headers given with -H, as `sign` does: an hmac template's {header:Name} signs them.
    const signed = signForRoute(route, rawBody, Date.now(), headers, options.privateKey);
    rawBody = signed.body;
    headers = { ...new HeaderLines().set(signed.headers).lowerCased(), ...headers };
    query = { ...query, ...signed.query };
  }
  if (!headers["content-type"] && /^\s*[[{]/.test(rawBody.toString("utf8"))) headers["content-type"] = "application/json";
  const req: InboundRequest = { method: "POST", path: route.path, headers, query, rawBody, receivedAt: Date.now() };

  const report = { route: route.name, path: route.path, verify: route.verifyType };
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
    case "ignored":
      return { ...report, verification: "ok", deliveryId: admission.deliveryId, routeFilter: "no", answer: 200 };
    case "accept":
      break;
  }
  const { event } = admission;
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
    answer: 202,
    targets,
  };
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

export async function test(routeName: string, options: TestOptions): Promise<number> {
  const report = await dryRun(routeName, options);
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return 0;
  }
  print(`route ${report.route} (POST ${report.path}, verify ${report.verify})`);
  print(`verification: ${report.verification}`);
  if (report.deliveryId) print(`delivery id: ${report.deliveryId}`);
  if (report.handshake !== undefined) print(`provider handshake, answered with: ${show(report.handshake)}`);
  if (report.handshakeFollowUp) print(`the daemon would first ${report.handshakeFollowUp} (a dry run does not)`);
  if (report.routeFilter !== undefined) print(`route filter: ${show(report.routeFilter)}`);
  if (report.dedupeKey) print(`dedupe id: ${report.dedupeKey}`);
  if (report.error) print(`error: ${report.error}`);
  print(`answer: ${report.answer}`);
  for (const t of report.targets ?? []) {
    print("");
    print(`target ${t.name} (${t.type})`);
    if (t.error) print(`  error: ${show(t.error)}`);
    else if (t.filter === "no") print("  filter: no (not delivered)");
    else {
      print(`  filter: ${t.filter}`);
      for (const [k, v] of Object.entries(t.would ?? {})) {
        print(`  ${k}: ${show(v).split("\n").join("\n  ")}`);
      }
    }
  }
  print("");
  print("(dry run: nothing was delivered or stored)");
  return 0;
}
