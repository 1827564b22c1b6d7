import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TObject } from "@sinclair/typebox";
import type { Logger } from "pino";
import type { AlertKind } from "../alerts/alert-kinds.js";
import { type ConfigIssue, ExpressionError } from "../errors.js";
import { type RetryPolicy, resolveRetryPolicy } from "../pipeline/backoff.js";
import type { Expression } from "../pipeline/expression.js";
import { type PauseAfterConfig, type PausePolicy, resolvePausePolicy } from "../pipeline/pause-policy.js";
import type { CommandRunner } from "../plugins/targets/exec/helper-client.js";
import { findTarget } from "../plugins/targets/index.js";
import { OptionProblems, type Target } from "../plugins/targets/target.js";
import { findVerifier } from "../plugins/verifiers/index.js";
import { SECRET_KEYS, type Verifier } from "../plugins/verifiers/verifier.js";
import { type AllowList, compileAllowFrom } from "./allow-from.js";
import { type CompiledRespond, compileRespond } from "./compile-respond.js";
import { type Path, placeOf } from "./interpolate.js";
import { markedValues } from "./marks.js";
import { ALERT_GROUP_DEFAULT, DEDUPE_DEFAULTS, type PluginBlock, type RouteConfig } from "./schema.js";
import { parseDuration } from "./units.js";

/** One route of the config → its verifier with keys, JSONata expressions and target clients. */

export interface CompiledTarget {
  name: string;
  type: string;
  where: string;
  target: Target;
  filter?: Expression;
  transform?: Expression;
  retry: RetryPolicy;
  /** `pause_after`; undefined when the target is never paused. */
  pause?: PausePolicy;
  concurrency: number;
  coalesce: boolean;
  timeoutMs: number;
  /**
   * A hash of the target's options as loaded (after `${VAR}`): a reload that finds the same one
   * for the same route and target keeps the running target, and the connection it holds.
   */
  fingerprint: string;
}

export interface CompiledRoute {
  name: string;
  /** The webhook path; "" for an `on` route, which no request reaches. */
  path: string;
  /** An alert route: the kinds of Switchyard's own events it receives. */
  on?: readonly AlertKind[];
  /** An alert route's grouping window (`group`); 0 sends every alert. */
  groupMs?: number;
  where: string;
  verifyType: string;
  verifier: Verifier;
  /** `allow_from`: when present, requests from other addresses are refused before anything else. */
  allowFrom?: AllowList;
  /** `methods`; undefined: POST only. */
  methods?: readonly string[];
  /** `content_type`: what every body is parsed as, whatever its header says. */
  contentType?: string;
  filter?: Expression;
  /** Present when the route deduplicates; without `id` the scheme's delivery id is used. */
  dedupe?: { id?: Expression; ttlMs: number };
  targets: CompiledTarget[];
  targetNames: string[];
  /** `respond`: what the provider hears; undefined gives today's answers. */
  respond?: CompiledRespond;
}

export interface CompileHelpers {
  issue(path: Path, message: string, severity?: ConfigIssue["severity"]): void;
  expr(source: string | undefined, path: Path): Expression | undefined;
  dir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Masks the config's secret values in a text (see pipeline/redact.ts). */
  redact(text: string): string;
  /** True when loading already found a problem at or under this place: it is not compiled. */
  unsound(place: string): boolean;
  /** What exec targets run their commands with (CompileOptions.commands). */
  commands: CommandRunner;
}

/** What an `on` route "verifies" with: its events come from the daemon itself, never from the network. */
const INTERNAL: PluginBlock = { type: "none" };

/**
 * A route has `path` (webhooks, with `verify`) or `on` (the daemon's own events, without
 * `verify` or `allow_from`); the problems name the place. Returns false when the shape is wrong.
 */
function checkShape(r: RouteConfig, at: Path, h: CompileHelpers): boolean {
  const problems: [Path, string][] = [];
  // A route with neither, or without verify, is refused by the schema ("routes[0].path: is required").
  if (r.path !== undefined && r.on !== undefined) problems.push([[...at, "on"], "a route has path (webhooks) or on (alerts), not both"]);
  if (r.on !== undefined) {
    if (r.verify !== undefined) problems.push([[...at, "verify"], "an on route receives Switchyard's own events: it takes no verify"]);
    if (r.allow_from !== undefined)
      problems.push([[...at, "allow_from"], "an on route receives Switchyard's own events: it takes no allow_from"]);
  } else if (r.group !== undefined) problems.push([[...at, "group"], "applies only to on routes, which group alerts"]);
  for (const [path, message] of problems) h.issue(path, message);
  return problems.length === 0;
}

export function compileRoute(r: RouteConfig, at: Path, h: CompileHelpers): CompiledRoute | undefined {
  const where = placeOf(at);
  const shaped = checkShape(r, at, h);
  const sound = !h.unsound(where) && shaped;
  const verifyBlock = r.on !== undefined ? INTERNAL : r.verify;
  const verifier = h.unsound(`${where}.verify`) || !verifyBlock ? undefined : compileVerifier(verifyBlock, [...at, "verify"], h);
  if (!verifier && h.unsound(`${where}.verify`) && r.verify) {
    // Loading found a problem in the block: its secret is still read (a secret_file that
    // cannot be), unless it was the problem. The scheme's own checks combine options, one of
    // which may be the broken one, so they wait for the next run.
    const plugin = findVerifier(r.verify?.type);
    const rest = soundPart(r.verify, [...at, "verify"], plugin?.schema, h);
    const secretBroken = SECRET_KEYS.some((k) => r.verify?.[k] !== undefined && rest?.[k] === undefined);
    if (rest && plugin?.needsSecret && !secretBroken) readKeys(rest, [...at, "verify"], h);
  }
  // The route's own fields: skipped when loading found them broken (a JSONata field there was
  // already checked by the loader).
  const ownSound = !["name", "path", "on", "group", "filter", "dedupe", "allow_from"].some((k) => h.unsound(`${where}.${k}`));
  const allowFrom =
    ownSound && r.allow_from ? compileAllowFrom(r.allow_from, (i, message) => h.issue([...at, "allow_from", i], message)) : undefined;
  const filter = ownSound ? h.expr(r.filter, [...at, "filter"]) : undefined;
  let dedupe: CompiledRoute["dedupe"];
  if (ownSound && (r.dedupe === true || typeof r.dedupe === "object")) {
    const d = r.dedupe === true ? {} : r.dedupe;
    dedupe = { id: h.expr(d.id, [...at, "dedupe", "id"]), ttlMs: parseDuration(d.ttl ?? DEDUPE_DEFAULTS.ttl) };
  }
  const targets: CompiledTarget[] = [];
  const names = new Set<string>();
  r.targets.forEach((t, j) => {
    const tAt = [...at, "targets", j];
    const name = String(t.name);
    if (names.has(name)) h.issue([...tAt, "name"], `${name} is already a target of route ${r.name}`);
    names.add(name);
    if (!h.unsound(placeOf(tAt))) {
      const compiled = compileTarget(t, tAt, r.name, h);
      if (compiled) targets.push(compiled);
    } else {
      // Loading found problems in this target (a bad timeout, an unknown key): the plugin still
      // checks the options loading did not complain about (the URL, the command, cwd), so that
      // one `check` run lists them all. What it builds is dropped.
      const rest = soundPart(t, tAt, findTarget(t?.type)?.schema, h);
      if (rest) compileTarget(rest, tAt, r.name, h);
    }
  });
  const respondSound = r.respond !== undefined && !h.unsound(`${where}.respond`);
  const respond = respondSound && r.respond ? compileRespond(r.respond, [...at, "respond"], [...names], h) : undefined;
  // A relay target's deliveries wait for the home instance to pull them: no attempt runs while
  // the provider waits, so it has no answer to give.
  const answering = respond?.target ? targets.find((c) => c.name === respond.target?.target) : undefined;
  if (answering?.target.pulled) {
    h.issue(
      [...at, "respond", "target"],
      `${answering.name} is a relay target: the home instance pulls its events later, so it has no answer to give; name an http or exec target`,
    );
    return undefined;
  }
  // An on route's events are the daemon's own and have no path: a home instance that pulled one
  // would find no route for it and keep it at the edge for ever.
  if (r.on !== undefined) {
    let pulledOnAlerts = false;
    for (const c of targets) {
      if (!c.target.pulled) continue;
      pulledOnAlerts = true;
      h.issue(
        [...at, "targets", r.targets.findIndex((t) => String(t.name) === c.name), "type"],
        `${c.name} is a relay target: an on route's alerts are never pulled by a home instance; send them with an http, exec or notification target`,
      );
    }
    if (pulledOnAlerts) return undefined;
  }
  if (!sound || !verifier || targets.length !== r.targets.length || (r.allow_from && !allowFrom)) return undefined;
  if (r.respond !== undefined && !respond) return undefined;
  return {
    name: r.name,
    path: r.path ?? "",
    ...(r.on !== undefined ? { on: r.on, groupMs: r.group === false ? 0 : parseDuration(r.group ?? ALERT_GROUP_DEFAULT) } : {}),
    where,
    verifyType: verifyBlock?.type ?? "none",
    verifier,
    ...(allowFrom ? { allowFrom } : {}),
    ...(r.methods ? { methods: r.methods } : {}),
    ...(r.content_type ? { contentType: r.content_type } : {}),
    filter,
    dedupe,
    targets,
    targetNames: targets.map((t) => t.name),
    ...(respond ? { respond } : {}),
  };
}

/**
 * A plugin block without the options loading found broken (at or under them), or undefined
 * when what is left lacks a required option. What remains passed the schema.
 */
function soundPart(block: PluginBlock | undefined, at: Path, schema: TObject | undefined, h: CompileHelpers): PluginBlock | undefined {
  if (!schema || typeof block !== "object" || block === null || Array.isArray(block)) return undefined;
  const where = placeOf(at);
  const kept = Object.fromEntries(Object.entries(block).filter(([key]) => !h.unsound(`${where}.${key}`)));
  const required: readonly string[] = schema.required ?? [];
  return required.every((key) => key in kept) ? (kept as PluginBlock) : undefined;
}

function readKeys(block: PluginBlock, at: Path, h: CompileHelpers): Buffer[] | undefined {
  const given = SECRET_KEYS.filter((k) => block[k] !== undefined);
  if (given.length !== 1) {
    h.issue(at, given.length === 0 ? "needs one of secret, secrets or secret_file" : `give only one of ${given.join(", ")}`);
    return undefined;
  }
  if (block.secrets) return (block.secrets as string[]).map((s) => Buffer.from(s, "utf8"));
  if (block.secret) return [Buffer.from(block.secret as string, "utf8")];
  const file = resolve(h.dir, block.secret_file as string);
  try {
    // A trailing newline is an artefact of `echo secret > file`, never part of the secret.
    const text = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    if (!text) throw new Error("the file is empty");
    return [Buffer.from(text, "utf8")];
  } catch (err) {
    h.issue([...at, "secret_file"], `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}

function compileVerifier(block: PluginBlock, at: Path, h: CompileHelpers): Verifier | undefined {
  const plugin = findVerifier(block.type);
  if (!plugin) return undefined; // the schema already reported the unknown type
  // A scheme's JSONata fields, if it has any, are checked like a target's.
  const broken = markedValues(plugin.schema, block).filter(
    (m) => m.expression && typeof m.value === "string" && !h.expr(m.value, [...at, ...m.path]),
  );
  if (broken.length > 0) return undefined;
  let keys: Buffer[] = [];
  if (plugin.needsSecret) {
    const k = readKeys(block, at, h);
    if (!k) return undefined;
    keys = k;
  }
  try {
    return plugin.create(block as never, { keys });
  } catch (err) {
    h.issue(at, (err as Error).message);
    return undefined;
  }
}

function compileTarget(block: PluginBlock, at: Path, route: string, h: CompileHelpers): CompiledTarget | undefined {
  const plugin = findTarget(block.type);
  if (!plugin) return undefined;
  const where = placeOf(at);
  const name = String(block.name);
  for (const problem of plugin.check(block, { configDir: h.dir, env: h.env }))
    h.issue([...at, ...problem.at], problem.message, problem.severity);
  // Every JSONata field the plugin's schema marks is compiled here, whether or not the plugin
  // asks for it, so that `check` reports each one; the plugin gets them through `compile`.
  const expressions = new Map<string, Expression | undefined>();
  for (const m of markedValues(plugin.schema, block)) {
    if (m.expression && typeof m.value === "string") expressions.set(placeOf(m.path), h.expr(m.value, [...at, ...m.path]));
  }
  const filter = expressions.get("filter");
  const transform = expressions.get("transform");
  const timeoutMs = block.timeout ? parseDuration(block.timeout as string) : plugin.defaultTimeoutMs;
  // A JSONata field that does not compile is reported, and the plugin goes on checking its other
  // options; the target it builds is then dropped, so the stand-in below never runs.
  let broken = [...expressions.values()].some((e) => e === undefined);
  const compile = (source: string, field: string): Expression => {
    const path = [...at, ...fieldPath(field)];
    const e = expressions.has(field) ? expressions.get(field) : h.expr(source, path);
    if (e) return e;
    broken = true;
    return {
      source,
      where: placeOf(path),
      evaluate: () => Promise.reject(new ExpressionError(placeOf(path), "the expression did not compile")),
    };
  };
  let target: Target;
  try {
    target = plugin.create(block, {
      where,
      route,
      name,
      configDir: h.dir,
      timeoutMs,
      compile,
      log: h.log.child({ route, target: name }),
      redact: h.redact,
      commands: h.commands,
    });
  } catch (err) {
    if (err instanceof OptionProblems) for (const p of err.problems) h.issue([...at, ...fieldPath(p.field)], p.message);
    else h.issue(at, (err as Error).message);
    return undefined;
  }
  if (broken) return undefined;
  return {
    name,
    type: block.type,
    where,
    target,
    filter,
    transform,
    retry: resolveRetryPolicy(block.retry as Parameters<typeof resolveRetryPolicy>[0]),
    pause: resolvePausePolicy(block.pause_after as PauseAfterConfig | undefined),
    concurrency: typeof block.concurrency === "number" ? block.concurrency : plugin.defaultConcurrency,
    coalesce: target.coalesce === true,
    timeoutMs,
    // The options name files by path: what the target read from them counts too (a rotated certificate).
    fingerprint: createHash("sha256")
      .update(JSON.stringify(block))
      .update(`\u0000${target.filesDigest ?? ""}`)
      .digest("hex"),
  };
}

/** `args[0]` → ["args", 0]; `env.GIT_REF` → ["env", "GIT_REF"]. */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/[.[\]]/)
    .filter(Boolean)
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}
