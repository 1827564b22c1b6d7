import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import type { Logger } from "pino";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { type RetryPolicy, resolveRetryPolicy } from "../pipeline/backoff.js";
import { compileExpression, type Expression, ExpressionSyntaxError } from "../pipeline/expression.js";
import { findTarget } from "../plugins/targets/index.js";
import type { Target } from "../plugins/targets/target.js";
import { findVerifier } from "../plugins/verifiers/index.js";
import type { Verifier } from "../plugins/verifiers/verifier.js";
import { type Path, placeOf } from "./interpolate.js";
import { type LoadedConfig, loadConfigFile } from "./load.js";
import type { PluginBlock, RouteConfig } from "./schema.js";
import { parseDuration, parseSize } from "./units.js";

/**
 * Config → everything a request needs, built once: verifiers with their keys, JSONata
 * expressions, target clients, retry policies. `check`, `test` and `serve` all run this, so
 * what `check` accepts is exactly what `serve` runs.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

export interface CompiledTarget {
  name: string;
  type: string;
  where: string;
  target: Target;
  filter?: Expression;
  transform?: Expression;
  retry: RetryPolicy;
  concurrency: number;
  coalesce: boolean;
  timeoutMs: number;
}

export interface CompiledRoute {
  name: string;
  path: string;
  where: string;
  verifyType: string;
  verifier: Verifier;
  filter?: Expression;
  /** Present when the route deduplicates; without `id` the scheme's delivery id is used. */
  dedupe?: { id?: Expression; ttlMs: number };
  targets: CompiledTarget[];
  targetNames: string[];
}

export type StoreSettings =
  | { type: "sqlite"; path: string; retentionMs: number }
  | { type: "redis"; url: string; prefix: string; retentionMs: number };

export interface CompiledConfig {
  file: string;
  dir: string;
  server: { listen: ListenAddress; admin?: ListenAddress; bodyLimit: number; logLevel?: string; shutdownTimeoutMs: number };
  store: StoreSettings;
  routes: CompiledRoute[];
  byPath: ReadonlyMap<string, CompiledRoute>;
  byName: ReadonlyMap<string, CompiledRoute>;
  warnings: ConfigIssue[];
}

export const DEFAULT_LISTEN = "127.0.0.1:8080";
const DEFAULT_DEDUPE_TTL = "24h";

export function parseAddress(text: string): ListenAddress {
  const i = text.lastIndexOf(":");
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(text.slice(i + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Why an exec command could not run, or undefined when it can. */
export function commandProblem(command: string, dir: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = command.includes("/")
    ? [isAbsolute(command) ? command : resolve(dir, command)]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((p) => join(p, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return undefined;
    } catch {}
  }
  if (command.includes("/") && candidates[0]) {
    try {
      accessSync(candidates[0], constants.F_OK);
      return `command is not executable: ${candidates[0]}`;
    } catch {
      return `command not found: ${candidates[0]}`;
    }
  }
  return `command not found on PATH: ${command}`;
}

export function compileConfig(loaded: LoadedConfig, opts: { log: Logger; env?: NodeJS.ProcessEnv }): CompiledConfig {
  const { config, file, lineOf } = loaded;
  const env = opts.env ?? process.env;
  const dir = dirname(resolve(file));
  const issues: ConfigIssue[] = [];
  const issue = (path: Path, message: string, severity: ConfigIssue["severity"] = "error") =>
    issues.push({ place: placeOf(path), message, line: lineOf(path), severity });
  const expr = (source: string | undefined, path: Path): Expression | undefined => {
    if (source === undefined) return undefined;
    try {
      return compileExpression(source, placeOf(path));
    } catch (err) {
      issue(path, err instanceof ExpressionSyntaxError ? err.message : String(err));
      return undefined;
    }
  };

  const server = config.server ?? {};
  const listen = parseAddress(server.listen ?? DEFAULT_LISTEN);
  const admin = server.admin ? parseAddress(server.admin) : undefined;
  if (!admin && !isLoopback(listen.host)) {
    issue(["server"], "admin is required when listen is not loopback (otherwise /metrics would be served to the internet)");
  }
  for (const [key, a] of [
    ["listen", listen],
    ["admin", admin],
  ] as const) {
    if (a && a.port > 65535) issue(["server", key], `port ${a.port} is out of range`);
  }

  const storeCfg = config.store ?? {};
  const retentionMs = parseDuration(storeCfg.retention ?? "7d");
  let store: StoreSettings;
  if (storeCfg.type === "redis") {
    if (!storeCfg.url) issue(["store", "url"], "is required for a redis store");
    if (storeCfg.path) issue(["store", "path"], "is for the sqlite store; a redis store takes url");
    store = { type: "redis", url: storeCfg.url ?? "", prefix: storeCfg.prefix ?? "switchyard", retentionMs };
  } else {
    if (storeCfg.url || storeCfg.prefix)
      issue(["store", storeCfg.url ? "url" : "prefix"], "is for the redis store; a sqlite store takes path");
    store = { type: "sqlite", path: resolve(dir, storeCfg.path ?? "./data/switchyard.db"), retentionMs };
  }

  const routes: CompiledRoute[] = [];
  const byPath = new Map<string, CompiledRoute>();
  const byName = new Map<string, CompiledRoute>();
  config.routes.forEach((r, i) => {
    const route = compileRoute(r, ["routes", i], { issue, expr, dir, env, log: opts.log });
    if (!route) return;
    const samePath = byPath.get(route.path);
    const sameName = byName.get(route.name);
    if (samePath) issue(["routes", i, "path"], `${route.path} is already the path of route ${samePath.name}`);
    if (sameName) issue(["routes", i, "name"], `${route.name} is already the name of ${sameName.where}`);
    if (samePath || sameName) return;
    routes.push(route);
    byPath.set(route.path, route);
    byName.set(route.name, route);
  });

  const errors = issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new ConfigError(file, issues);
  return {
    file,
    dir,
    server: {
      listen,
      admin,
      bodyLimit: parseSize(server.body_limit ?? "1mb"),
      logLevel: server.log_level,
      shutdownTimeoutMs: parseDuration(server.shutdown_timeout ?? "30s"),
    },
    store,
    routes,
    byPath,
    byName,
    warnings: issues,
  };
}

interface CompileHelpers {
  issue(path: Path, message: string, severity?: ConfigIssue["severity"]): void;
  expr(source: string | undefined, path: Path): Expression | undefined;
  dir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

function compileRoute(r: RouteConfig, at: Path, h: CompileHelpers): CompiledRoute | undefined {
  const where = placeOf(at);
  const verifier = compileVerifier(r.verify, [...at, "verify"], h);
  const filter = h.expr(r.filter, [...at, "filter"]);
  let dedupe: CompiledRoute["dedupe"];
  if (r.dedupe === true || typeof r.dedupe === "object") {
    const d = r.dedupe === true ? {} : r.dedupe;
    dedupe = { id: h.expr(d.id, [...at, "dedupe", "id"]), ttlMs: parseDuration(d.ttl ?? DEFAULT_DEDUPE_TTL) };
  }
  const targets: CompiledTarget[] = [];
  const names = new Set<string>();
  r.targets.forEach((t, j) => {
    const tAt = [...at, "targets", j];
    const name = String(t.name);
    if (names.has(name)) h.issue([...tAt, "name"], `${name} is already a target of route ${r.name}`);
    names.add(name);
    const compiled = compileTarget(t, tAt, r.name, h);
    if (compiled) targets.push(compiled);
  });
  if (!verifier || targets.length !== r.targets.length) return undefined;
  return {
    name: r.name,
    path: r.path,
    where,
    verifyType: r.verify.type,
    verifier,
    filter,
    dedupe,
    targets,
    targetNames: targets.map((t) => t.name),
  };
}

function readKeys(block: PluginBlock, at: Path, h: CompileHelpers): Buffer[] | undefined {
  const given = (["secret", "secrets", "secret_file"] as const).filter((k) => block[k] !== undefined);
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
  if (block.type === "exec" && Array.isArray(block.command) && typeof block.command[0] === "string") {
    const problem = commandProblem(block.command[0], h.dir, h.env);
    if (problem) h.issue([...at, "command", 0], problem);
  }
  const filter = h.expr(block.filter as string | undefined, [...at, "filter"]);
  const transform = h.expr(block.transform as string | undefined, [...at, "transform"]);
  const timeoutMs = block.timeout ? parseDuration(block.timeout as string) : plugin.defaultTimeoutMs;
  const compile = (source: string, field: string): Expression => {
    const e = h.expr(source, [...at, ...fieldPath(field)]);
    if (!e) throw new AlreadyReported();
    return e;
  };
  let target: Target;
  try {
    target = plugin.create(block, { where, route, name, configDir: h.dir, timeoutMs, compile, log: h.log.child({ route, target: name }) });
  } catch (err) {
    if (!(err instanceof AlreadyReported)) h.issue(at, (err as Error).message);
    return undefined;
  }
  return {
    name,
    type: block.type,
    where,
    target,
    filter,
    transform,
    retry: resolveRetryPolicy(block.retry as Parameters<typeof resolveRetryPolicy>[0]),
    concurrency: typeof block.concurrency === "number" ? block.concurrency : plugin.defaultConcurrency,
    coalesce: block.coalesce === true,
    timeoutMs,
  };
}

/** A JSONata field of a plugin failed to compile; the issue is already recorded. */
class AlreadyReported extends Error {}

/** `args[0]` → ["args", 0]; `env.GIT_REF` → ["env", "GIT_REF"]. */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/[.[\]]/)
    .filter(Boolean)
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

export function loadAndCompile(file: string, opts: { log: Logger; env?: NodeJS.ProcessEnv }): CompiledConfig {
  return compileConfig(loadConfigFile(file, opts.env), opts);
}
