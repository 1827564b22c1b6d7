import { isIP } from "node:net";
import { UserError } from "../errors.js";
import { type DryRunReport, dryRunRequest } from "../pipeline/dry-run.js";
import type { AnswerReport } from "../pipeline/respond-report.js";
import { capturedBody, readCapturedRequest } from "./captured-request.js";
import { findRoute, loadForCli, print } from "./common.js";
import { HeaderLines } from "./header-lines.js";
import { readBodyFile, signForRoute } from "./sign.js";

/**
 * `switchyard test`: one payload through the exact compiled route, offline. Prints what
 * verification, the route filter and each target would do; delivers nothing, touches no store.
 */

export type { DryRunReport, TargetReport } from "../pipeline/dry-run.js";

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
  /** The client address a route filter sees as `client`. */
  client?: string;
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
  if (options.client !== undefined && isIP(options.client) === 0) {
    throw new UserError(`--client ${JSON.stringify(options.client)} is not an IPv4 or IPv6 address`);
  }
  return dryRunRequest(config, route, { rawBody, headers, query, ...(options.client === undefined ? {} : { client: options.client }) });
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function printAnswer(label: string, a: AnswerReport): void {
  print(`${label}: ${a.status}`);
  for (const [name, value] of Object.entries(a.headers)) print(`  ${name}: ${value}`);
  if (a.body) print(`  ${a.body.split("\n").join("\n  ")}`);
}

/** The route's own answer: rendered when fixed; for a target's, which target, how long, and what else. */
function printRespond(report: DryRunReport): void {
  if (report.ignoredAnswer) printAnswer("answered (respond.ignored)", report.ignoredAnswer);
  const r = report.respond;
  if (r?.kind === "fixed") printAnswer("answered (respond)", r.answer);
  if (r?.kind !== "target") return;
  print(`answered by target ${r.target}: its first attempt's answer, if it comes within ${r.timeout}`);
  print(`  an http target's status, headers and body; an exec target's stdout as ${r.exec.status} ${r.exec.contentType}`);
  for (const [name, value] of Object.entries(r.headers)) print(`  plus ${name}: ${value}`);
  printAnswer(`  after ${r.timeout} (the delivery goes on), fallback`, r.fallback);
  printAnswer("  if that attempt fails (it is retried), on_failure", r.onFailure);
  print("  (a dry run does not deliver, so the target's own answer is not shown)");
}

export async function test(routeName: string, options: TestOptions): Promise<number> {
  const report = await dryRun(routeName, options);
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return 0;
  }
  print(
    report.on
      ? `route ${report.route} (on ${report.on.join(", ")})`
      : `route ${report.route} (POST ${report.path}, verify ${report.verify})`,
  );
  print(`verification: ${report.verification}`);
  if (report.deliveryId) print(`delivery id: ${report.deliveryId}`);
  if (report.handshake !== undefined) print(`provider handshake, answered with: ${show(report.handshake)}`);
  if (report.handshakeFollowUp) print(`the daemon would first ${report.handshakeFollowUp} (a dry run does not)`);
  if (report.routeFilter !== undefined) print(`route filter: ${show(report.routeFilter)}`);
  if (report.dedupeKey) print(`dedupe id: ${report.dedupeKey}`);
  if (report.error) print(`error: ${report.error}`);
  // A target's answer is only known by delivering: the lines below say what it can be.
  if (report.respond?.kind === "target") print(`answer: from target ${report.respond.target} (below)`);
  else print(`answer: ${report.answer}`);
  printRespond(report);
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
