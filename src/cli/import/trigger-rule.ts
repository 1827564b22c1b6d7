import { parseCidr } from "../../config/allow-from.js";
import { HEADER_NAME_PATTERN } from "../../config/header-name.js";
import { type HookArgument, type JsonParameter, parameterExpression } from "./parameter.js";

/**
 * An adnanh/webhook `trigger-rule` (docs/Hook-Rules.md) as a route's `verify` and `filter`.
 * A payload signature at the top, or inside `and`s from the top, becomes `verify` (checked on
 * the raw bytes before anything else, as every Switchyard scheme is); every other rule becomes
 * JSONata in `filter`. A rule that cannot be converted is reported and replaced by the constant
 * that can only make the filter stricter (false where it counts positively, true under an odd
 * number of `not`s), so a converted route never accepts what the hook refused.
 */

export interface ConvertedRule {
  verify?: Record<string, unknown>;
  filter?: string;
  problems: string[];
  notes: string[];
  /** A signature rule stayed out of verify (while converting). */
  signatureLeft?: boolean;
}

export interface RuleContext {
  json: readonly JsonParameter[];
  /** trigger-signature-soft-failures: a signature that does not match inside `or` is a false, not an error. */
  softFailures: boolean;
  /** A string from the hooks file as a plain value (template functions read now). */
  literal(text: string): string;
  /** A secret from the hooks file as verify options (`secret`, or `secret_file` for a template `cat`). */
  secret(text: string): Record<string, string>;
}

type Rule = Record<string, unknown>;

const SIGNATURES: Record<string, "sha1" | "sha256" | "sha512"> = {
  "payload-hmac-sha1": "sha1",
  "payload-hmac-sha256": "sha256",
  "payload-hmac-sha512": "sha512",
  // Deprecated names adnanh/webhook still takes for the same checks.
  "payload-hash-sha1": "sha1",
  "payload-hash-sha256": "sha256",
  "payload-hash-sha512": "sha512",
};

function isRule(value: unknown): value is Rule {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function matchOf(rule: Rule): Rule | undefined {
  return isRule(rule.match) ? rule.match : undefined;
}

function isSignature(rule: Rule): boolean {
  const m = matchOf(rule);
  return (m && typeof m.type === "string" && (m.type in SIGNATURES || m.type === "scalr-signature")) === true;
}

/**
 * `or` of signature matches that differ only in their secret: what adnanh/webhook's docs show
 * for a secret being rotated (with trigger-signature-soft-failures), which is verify's `secrets`.
 */
function rotation(rule: Rule): Rule[] | undefined {
  if (!Array.isArray(rule.or) || rule.or.length < 2) return undefined;
  const members = rule.or.filter(isRule);
  if (members.length !== rule.or.length || !members.every((m) => isSignature(m) && matchOf(m)?.type !== "scalr-signature"))
    return undefined;
  const shape = (m: Rule) => JSON.stringify([matchOf(m)?.type, matchOf(m)?.parameter]);
  return members.every((m) => shape(m) === shape(members[0] ?? {})) ? members : undefined;
}

/** The signature rule `verify` can take: the root or a direct member of `and`s from the root. */
function verifiable(rule: Rule): Rule | undefined {
  if (isSignature(rule) || rotation(rule)) return rule;
  if (!Array.isArray(rule.and)) return undefined;
  for (const child of rule.and) {
    const found = isRule(child) ? verifiable(child) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * A `value` match on a header or query parameter that every request must pass (the root or a
 * direct member of `and`s from the root): a shared token, such as GitLab's X-Gitlab-Token.
 */
function tokenRule(rule: Rule, ctx: RuleContext): Rule | undefined {
  const m = matchOf(rule);
  if (m) {
    const p = (isRule(m.parameter) ? m.parameter : {}) as HookArgument;
    const name = typeof p.name === "string" ? p.name : "";
    const fromHeader = p.source === "header" && new RegExp(HEADER_NAME_PATTERN).test(name);
    // A dotted query name is a path in webhook; a JSON-text value is read through, not compared.
    const fromQuery = (p.source === "url" || p.source === "query") && /^[^.]+$/.test(name);
    const json = ctx.json.some((j) => j.name.toLowerCase() === name.toLowerCase());
    const ok = m.type === "value" && typeof m.value === "string" && m.value !== "" && (fromHeader || fromQuery) && !json;
    return ok ? rule : undefined;
  }
  if (!Array.isArray(rule.and)) return undefined;
  for (const child of rule.and) {
    const found = isRule(child) ? tokenRule(child, ctx) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** Go's RE2 syntax as a JavaScript regex literal for JSONata, or why not. */
export function regexLiteral(source: string): { literal: string } | { problem: string } {
  let body = source;
  let flags = "";
  // RE2 takes flags in a leading group; JavaScript takes them after the literal.
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead?.[1]) {
    if (lead[1].includes("U")) return { problem: `regex ${JSON.stringify(source)}: the U (ungreedy) flag has no JavaScript equivalent` };
    flags = [...new Set(lead[1])].join("");
    body = body.slice(lead[0].length);
  }
  body = body
    .replace(/\(\?P</g, "(?<")
    .replace(/\\A/g, "^")
    .replace(/\\z/g, "$");
  try {
    new RegExp(body, flags);
  } catch (err) {
    return { problem: `regex ${JSON.stringify(source)} does not compile as a JavaScript regex: ${(err as Error).message}` };
  }
  // JSONata's literal ends at an unescaped `/`.
  return { literal: `/${body.replace(/(^|[^\\])((?:\\\\)*)\//g, "$1$2\\/")}/${flags}` };
}

/** Text compared as text: a header, a query value, the method and the client already are. */
function asText(expr: string): string {
  return /^(headers|query)(\.[A-Za-z_][A-Za-z0-9_]*|\."[^"]*")$/.test(expr) || expr === "method" || expr === "client"
    ? expr
    : `$string(${expr})`;
}

export function convertRule(rule: unknown, ctx: RuleContext): ConvertedRule {
  const out: ConvertedRule = { problems: [], notes: [] };
  if (!isRule(rule)) return out;
  const chosen = verifiable(rule);
  if (chosen) {
    const members = rotation(chosen);
    const verify = signatureVerify(matchOf(members?.[0] ?? chosen) ?? {}, ctx, out);
    if (verify && members) {
      // Without soft failures webhook answers 500 to a request the first secret did not sign:
      // only that secret ever let a request through.
      const secrets = members
        .slice(0, ctx.softFailures ? undefined : 1)
        .map((m) => matchOf(m)?.secret)
        .filter((x): x is string => typeof x === "string" && x !== "");
      const options = secrets.map((x) => ctx.secret(x));
      if (options.every((o) => typeof o.secret === "string") && secrets.length === (ctx.softFailures ? members.length : 1)) {
        delete verify.secret;
        if (options.length === 1) verify.secret = options[0]?.secret;
        else verify.secrets = options.map((o) => o.secret);
      } else {
        out.problems.push("or of signatures: each secret must be a value or getenv (not cat or credential) to become verify's secrets");
      }
    }
    if (verify && !out.problems.some((p) => p.startsWith("or of signatures"))) out.verify = verify;
  }
  const taken = new Set<Rule>(chosen ? [chosen] : []);
  const token = chosen ? undefined : tokenRule(rule, ctx);
  if (token) {
    // A token compared in the filter would be compared in variable time, and stored, shown and
    // handed to the command with every event; as verify it is neither.
    const m = matchOf(token) ?? {};
    const p = (isRule(m.parameter) ? m.parameter : {}) as HookArgument;
    const where = p.source === "header" ? { header: String(p.name) } : { query: String(p.name) };
    out.verify = { type: "token", ...where, ...ctx.secret(String(m.value)) };
    taken.add(token);
    out.problems.push(
      `value match on ${p.source === "header" ? "header" : "query parameter"} ${String(p.name)}: checked as a shared token (verify: token, in constant time, removed from the stored event); a request without the right token is answered 401, where webhook answered 200 or trigger-rule-mismatch-http-response-code`,
    );
  }
  const filter = convert(rule, true, taken, ctx, out).v;
  if (out.signatureLeft && !ctx.softFailures) {
    // Without soft failures a signature that does not match is an error (500) wherever it
    // stands: the hook took no request without it. Dropping it would take unsigned ones.
    out.problems.push("so that no unsigned request gets through, the route's filter refuses every request until this is fixed by hand");
    out.filter = "false";
  } else if (filter !== "true") out.filter = filter;
  delete out.signatureLeft;
  return out;
}

function signatureVerify(m: Rule, ctx: RuleContext, out: ConvertedRule): Record<string, unknown> | undefined {
  const secret = typeof m.secret === "string" && m.secret !== "" ? ctx.secret(m.secret) : undefined;
  if (!secret) {
    out.problems.push(`${m.type}: no secret, so adnanh/webhook refused every request; the route refuses them too`);
    return undefined;
  }
  if (m.type === "scalr-signature") {
    out.notes.push("scalr-signature: the signature is checked, but not that the Date header is within 5 minutes");
    return { type: "hmac", header: "X-Signature", algorithm: "sha1", signed: "{body}{header:date}", ...secret };
  }
  const algorithm = SIGNATURES[String(m.type)] ?? "sha256";
  const p = (isRule(m.parameter) ? m.parameter : {}) as HookArgument;
  const name = typeof p.name === "string" ? p.name : "";
  const base = { type: "hmac", algorithm, prefix: `${algorithm}=`, separator: ",", ...secret };
  if (p.source === "header" && name !== "") return { ...base, header: name };
  if ((p.source === "url" || p.source === "query") && name !== "") return { ...base, query: name };
  out.problems.push(
    `${m.type}: a signature in ${p.source === "payload" ? "the payload it signs" : `source "${String(p.source)}"`} cannot be checked before the body is trusted; only a header or query parameter can carry it`,
  );
  return undefined;
}

/**
 * A rule as adnanh/webhook evaluates it (internal/hook/hook.go): a value and whether a request
 * value it reads was missing (a ParameterNodeError). `and` stops at the first error and answers
 * false; `or` ignores errors and keeps the value (`not` of a missing value is true there); `not`
 * negates the value and passes the error up. At the top the value decides, error or not.
 * `strict`: the rule answered true with no error, which is what an enclosing `and` needs.
 */
interface Evaluated {
  v: string;
  e: string;
  /** The negation of `e`, kept as written (`$exists(…)`) rather than as `$not($not(…))`. */
  present: string;
  strict: string;
}

const constant = (v: string): Evaluated => ({ v, e: "false", present: "true", strict: v });

function neg(x: string): string {
  return x === "true" ? "false" : x === "false" ? "true" : `$not(${x})`;
}

function joined(list: string[], op: "and" | "or"): string {
  const decides = op === "and" ? "false" : "true";
  if (list.includes(decides)) return decides;
  const kept = list.filter((x) => x !== (op === "and" ? "true" : "false"));
  if (kept.length === 0) return op === "and" ? "true" : "false";
  return kept.length === 1 ? (kept[0] ?? "true") : `(${kept.join(` ${op} `)})`;
}

/** The sources whose value a request can lack; the others (string, request, entire-*) always give one. */
const MAY_BE_MISSING = new Set(["payload", "header", "url", "query"]);

/** `positive`: true where the rule counts for acceptance, false under an odd number of `not`s. */
function convert(rule: Rule, positive: boolean, taken: ReadonlySet<Rule>, ctx: RuleContext, out: ConvertedRule): Evaluated {
  const refuse = (problem: string) => {
    out.problems.push(problem);
    return constant(positive ? "false" : "true");
  };
  // The rule that became verify (checked before the filter runs); one that could not refuses everything.
  if (taken.has(rule)) return constant(out.verify ? "true" : "false");
  if (Array.isArray(rule.and) || Array.isArray(rule.or)) {
    const isAnd = Array.isArray(rule.and);
    const members = ((isAnd ? rule.and : rule.or) as unknown[]).map((r) =>
      isRule(r) ? convert(r, positive, taken, ctx, out) : refuse(`${isAnd ? "and" : "or"}: a member is not a rule`),
    );
    if (!isAnd)
      return constant(
        joined(
          members.map((m) => m.v),
          "or",
        ),
      );
    const v = joined(
      members.map((m) => m.strict),
      "and",
    );
    // The error of the first member that erred while every one before it held.
    const e = joined(
      members.map((m, i) => joined([m.e, ...members.slice(0, i).map((p) => p.strict)], "and")),
      "or",
    );
    return { v, e, present: neg(e), strict: v };
  }
  if (isRule(rule.not)) {
    const inner = convert(rule.not, !positive, taken, ctx, out);
    const v = neg(inner.v);
    return { v, e: inner.e, present: inner.present, strict: joined([inner.present, v], "and") };
  }
  const m = matchOf(rule);
  if (!m) return refuse(`trigger-rule ${JSON.stringify(rule)}: not an and, or, not or match rule`);
  const type = String(m.type);
  if (type in SIGNATURES || type === "scalr-signature") {
    out.signatureLeft = true;
    return refuse(
      `${type} inside or/not (or a second signature): only one signature, required for every request, can be the route's verify`,
    );
  }
  if (type === "ip-whitelist") {
    const ranges =
      typeof m["ip-range"] === "string"
        ? ctx
            .literal(m["ip-range"])
            .split(/\s+/)
            .filter((r) => r !== "")
        : [];
    const bad = ranges.map((r) => parseCidr(r)).find((c) => "error" in c);
    if (ranges.length === 0 || (bad && "error" in bad)) {
      return refuse(`ip-whitelist: ${bad && "error" in bad ? bad.error : "no ip-range"}`);
    }
    return constant(`$inRange(client, ${JSON.stringify(ranges)})`);
  }
  const arg = (isRule(m.parameter) ? m.parameter : {}) as HookArgument;
  const param = parameterExpression(arg, ctx.json, "rule");
  if ("problem" in param) return refuse(`match ${type}: ${param.problem}`);
  if (param.note) out.notes.push(param.note);
  // A missing value compares false below; `e` says it was missing, for the and/not around it.
  const present = MAY_BE_MISSING.has(String(arg.source)) ? `$exists(${param.expr})` : "true";
  const e = neg(present);
  if (type === "value") {
    const v = `${asText(param.expr)} = ${JSON.stringify(ctx.literal(String(m.value ?? "")))}`;
    return { v, e, present, strict: v };
  }
  if (type === "regex") {
    const re = regexLiteral(ctx.literal(String(m.regex ?? "")));
    if ("problem" in re) return refuse(re.problem);
    const v = `$contains(${asText(param.expr)}, ${re.literal}) = true`;
    return { v, e, present, strict: v };
  }
  return refuse(`match type "${type}" is not one adnanh/webhook has`);
}
