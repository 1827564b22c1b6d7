import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { compileExpression, type Expression, ExpressionSyntaxError } from "../pipeline/expression.js";
import { buildRedactor, type Redactor } from "../pipeline/redact.js";
import { type CommandRunner, NO_COMMANDS } from "../plugins/targets/exec/helper-client.js";
import { findVerifier } from "../plugins/verifiers/index.js";
import { compileRelays, type RelayEndpoint, type RelaySettings, relayPaths } from "../relay/relay-settings.js";
import { readTls, type TlsSettings } from "../server/listener-tls.js";
import { type AddressOverrides, formatAddress, isLoopback, type ListenAddress, resolveAddresses } from "./addresses.js";
import { type CompiledRoute, type CompileHelpers, compileRoute } from "./compile-route.js";
import { type Path, placeOf } from "./interpolate.js";
import { type LoadedConfig, loadConfigFile } from "./load.js";
import { loadOffThread } from "./load-off-thread.js";
import { markedValues } from "./marks.js";
import { type Config, ConfigSchema, DEFAULT_INFLIGHT_BODIES, SERVER_DEFAULTS } from "./schema.js";
import { type StoreSettings, storeSettings } from "./store-settings.js";
import { timeSlices } from "./time-slices.js";
import { parseDuration, parseSize } from "./units.js";

export { type AddressOverrides, DEFAULT_LISTEN, isLoopback, type ListenAddress, parseAddress } from "./addresses.js";
export type { CompiledRoute, CompiledTarget } from "./compile-route.js";

/**
 * Config → everything a request needs, built once: verifiers with their keys, JSONata
 * expressions, target clients, retry policies. `check`, `test` and `serve` all run this, so
 * what `check` accepts is exactly what `serve` runs.
 */

export type { StoreSettings } from "./store-settings.js";

export interface ServerSettings {
  listen: ListenAddress;
  admin?: ListenAddress;
  /** Where listen and admin were set (file line, flag or variable), for a failure to bind. */
  listenFrom: string;
  adminFrom?: string;
  bodyLimit: number;
  logLevel?: string;
  shutdownTimeoutMs: number;
  maxConnections: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  /** Bytes of request bodies held at once across all requests; beyond it 503. */
  inflightBodyLimit: number;
  adminToken?: string;
  /** `public_url`: where people open the console; alerts link to their event there. */
  publicUrl?: string;
  /** `trust_proxy`: how many X-Forwarded-For hops back the client address is read. */
  trustProxy: number;
  /** `tls`: listen serves HTTPS with these, read at this load. */
  tls?: TlsSettings;
}

export interface CompiledConfig {
  file: string;
  dir: string;
  server: ServerSettings;
  store: StoreSettings;
  /** Masks every secret value of this config (verify secrets, target headers, admin token) in a text. */
  redact: Redactor;
  routes: CompiledRoute[];
  byPath: ReadonlyMap<string, CompiledRoute>;
  byName: ReadonlyMap<string, CompiledRoute>;
  /** Relay targets by the path their puller fetches from (src/relay/relay-endpoint.ts). */
  relayPaths: ReadonlyMap<string, RelayEndpoint>;
  /** Top-level `relays:`: the edges this instance pulls from. */
  relays: RelaySettings[];
  warnings: ConfigIssue[];
}

export interface CompileOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** `serve --listen/--admin`: win over SWITCHYARD_LISTEN/SWITCHYARD_ADMIN and the file. */
  overrides?: AddressOverrides;
  /**
   * What exec targets run their commands with: the daemon's exec helper. Without it (`check`,
   * `test`, which deliver nothing) nothing is started, and a delivery would be retried.
   */
  commands?: CommandRunner;
}

/** Compiles at once: the CLI verbs, and a daemon that is not serving yet. */
export function compileConfig(loaded: LoadedConfig, opts: CompileOptions): CompiledConfig {
  const steps = compileSteps(loaded, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** How long the compile may hold the event loop before it lets requests in. */
const COMPILE_SLICE_MS = 10;

/**
 * The same compile, run in slices of COMPILE_SLICE_MS with a turn of the event loop between
 * them: a reload of thousands of routes (a JSONata compile, a verifier and an HTTP client each)
 * takes seconds on a small machine, and the requests arriving meanwhile must not wait for it.
 */
export async function compileConfigAsync(loaded: LoadedConfig, opts: CompileOptions): Promise<CompiledConfig> {
  const steps = compileSteps(loaded, opts);
  const turn = timeSlices(COMPILE_SLICE_MS);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await turn();
  }
}

function* compileSteps(loaded: LoadedConfig, opts: CompileOptions): Generator<void, CompiledConfig, void> {
  const { config, file, lineOf } = loaded;
  const env = opts.env ?? process.env;
  const commands = opts.commands ?? NO_COMMANDS;
  const dir = dirname(resolve(file));
  // Start from what loading found, and compile every part the schema found sound, so that one
  // run reports every problem: a schema error in one route does not hide a bad JSONata
  // expression or a missing command in another.
  const issues: ConfigIssue[] = [...loaded.issues];
  const unsound = (prefix: string) =>
    loaded.issues.some(
      (i) => i.severity === "error" && (i.place === prefix || i.place.startsWith(`${prefix}.`) || i.place.startsWith(`${prefix}[`)),
    );
  if (
    unsound("server") ||
    unsound("store") ||
    (unsound("routes") && !Array.isArray(config.routes)) ||
    loaded.issues.some((i) => i.place === "")
  ) {
    throw new ConfigError(file, issues);
  }
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

  const server = compileServer(config.server ?? {}, { env, overrides: opts.overrides, file, lineOf }, issues, issue);
  if (config.server?.tls) {
    const read = readTls(config.server.tls, dir);
    if (read.ok) server.tls = read.settings;
    else for (const p of read.problems) issue(["server", "tls", p.key], p.message);
  }
  const store = storeSettings(config.store, dir, issue);
  // Built once the config is known to be sound (below); targets call it only when delivering.
  let redactor: Redactor = (text) => text;
  const redact: Redactor = (text) => redactor(text);
  const routes = yield* compileRoutes(loaded, { issue, expr, dir, env, log: opts.log, unsound, redact, commands });
  warn(loaded, server.listen, issue);
  const relays = compileRelays(config.relays, dir, issue);
  if (relays.length > 0) warnClientWithRelays(loaded, issue);
  const relayEndpoints = relayPaths(routes.routes, routes.byPath, issue, server.listen, server.tls !== undefined);

  const errors = issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new ConfigError(file, issues);
  yield; // the redactor walks every route's secrets at once
  redactor = buildRedactor(config, dir, loaded.raw);
  return { file, dir, server, store, redact, ...routes, relayPaths: relayEndpoints, relays, warnings: issues };
}

type Issue = CompileHelpers["issue"];

function compileServer(
  server: NonNullable<Config["server"]>,
  where: Parameters<typeof resolveAddresses>[1],
  issues: ConfigIssue[],
  issue: Issue,
): ServerSettings {
  const { addresses, issues: addressIssues } = resolveAddresses(server, where);
  issues.push(...addressIssues);
  const bodyLimit = parseSize(server.body_limit ?? SERVER_DEFAULTS.body_limit);
  const inflightBodyLimit = server.inflight_body_limit ? parseSize(server.inflight_body_limit) : DEFAULT_INFLIGHT_BODIES * bodyLimit;
  if (inflightBodyLimit < bodyLimit) {
    issue(
      ["server", "inflight_body_limit"],
      `is smaller than body_limit (${server.body_limit ?? SERVER_DEFAULTS.body_limit}): no body that size could ever be taken`,
    );
  }
  const headerTimeoutMs = parseDuration(server.header_timeout ?? SERVER_DEFAULTS.header_timeout);
  const requestTimeoutMs = parseDuration(server.request_timeout ?? SERVER_DEFAULTS.request_timeout);
  // Node refuses a header timeout longer than the request timeout; say so in the config's terms.
  if (headerTimeoutMs > requestTimeoutMs) issue(["server", "header_timeout"], "is longer than request_timeout");
  if (headerTimeoutMs < 1) issue(["server", "header_timeout"], "must be at least 1ms");
  // The console shows every stored webhook: on an address others can reach, it wants a token.
  const admin = addresses.admin ?? addresses.listen;
  if (server.admin_token === undefined && !isLoopback(admin.host)) {
    issue(
      ["server", addresses.admin ? "admin" : "listen"],
      `without admin_token, anyone who can reach ${formatAddress(admin)} can read every stored webhook in the console and its API (replays are refused): set server.admin_token`,
      "warning",
    );
  }
  return {
    ...addresses,
    bodyLimit,
    logLevel: server.log_level,
    shutdownTimeoutMs: parseDuration(server.shutdown_timeout ?? SERVER_DEFAULTS.shutdown_timeout),
    maxConnections: server.max_connections ?? SERVER_DEFAULTS.max_connections,
    headerTimeoutMs,
    requestTimeoutMs,
    inflightBodyLimit,
    ...(server.public_url !== undefined ? { publicUrl: server.public_url } : {}),
    adminToken: server.admin_token,
    trustProxy: server.trust_proxy ?? SERVER_DEFAULTS.trust_proxy,
  };
}

function* compileRoutes(
  loaded: LoadedConfig,
  h: CompileHelpers,
): Generator<void, Pick<CompiledConfig, "routes" | "byPath" | "byName">, void> {
  const routes: CompiledRoute[] = [];
  const byPath = new Map<string, CompiledRoute>();
  const byName = new Map<string, CompiledRoute>();
  for (const [i, r] of loaded.config.routes.entries()) {
    // A turn for the event loop between routes (see compileConfigAsync); nothing when run to the end at once.
    yield;
    // A route whose shape is broken is skipped; one with a broken verify or target still has
    // its other parts compiled (and their problems reported), but is not built.
    const shapeBroken = typeof r !== "object" || r === null || !Array.isArray(r.targets);
    if (shapeBroken || loaded.issues.some((x) => x.place === `routes[${i}]`)) continue;
    const route = compileRoute(r, ["routes", i], h);
    if (!route) continue;
    // An `on` route has no path: no request reaches it.
    const samePath = route.on ? undefined : byPath.get(route.path);
    const sameName = byName.get(route.name);
    if (samePath) h.issue(["routes", i, "path"], `${route.path} is already the path of route ${samePath.name}`);
    if (sameName) h.issue(["routes", i, "name"], `${route.name} is already the name of ${sameName.where}`);
    if (samePath || sameName) continue;
    routes.push(route);
    if (!route.on) byPath.set(route.path, route);
    byName.set(route.name, route);
  }
  return { routes, byPath, byName };
}

/** What is allowed but probably a mistake: an open route on a public listener, inline secrets anyone can read. */
function warn(loaded: LoadedConfig, listen: ListenAddress, issue: Issue): void {
  loaded.config.routes.forEach((r, i) => {
    // A scheme that authenticates nothing (`none`); public-key schemes need no secret yet are not open.
    const type = r?.verify?.type;
    const open = typeof type === "string" && findVerifier(type)?.open === true;
    if (open && !isLoopback(listen.host)) {
      issue(
        ["routes", i, "verify", "type"],
        `${type}: anyone who can reach ${formatAddress(listen)} can send events to ${r.path}`,
        "warning",
      );
    }
  });
  const inline = inlineSecretPlaces(loaded.raw);
  if (inline.length > 0 && isWorldReadable(loaded.file)) {
    issue(
      [],
      `${loaded.file} holds secrets written inline (${inline.join(", ")}) and is readable by every user: chmod o-r it, or use \${VAR} or secret_file`,
      "warning",
    );
  }
}

/** `client` as a JSONata path of its own (`$inRange(client, …)`, `client = "…"`), not `body.client`. */
const READS_CLIENT = /(?<![\w$.`"'])client(?![\w`"'])/;

/**
 * A pulled event reaches this instance from the edge, not from the provider: it has no client
 * address here, so a filter on `client` ignores every relayed event (and the edge counts it
 * delivered). Such a filter belongs on the edge's route.
 */
function warnClientWithRelays(loaded: LoadedConfig, issue: Issue): void {
  loaded.config.routes.forEach((r, i) => {
    const fields: [string[], unknown][] = [
      [["filter"], r?.filter],
      [["dedupe", "id"], typeof r?.dedupe === "object" ? r.dedupe.id : undefined],
    ];
    for (const [at, source] of fields) {
      if (typeof source !== "string" || !READS_CLIENT.test(source)) continue;
      issue(
        ["routes", i, ...at],
        "reads client, which an event pulled from a relay does not have here (the edge saw the provider's address, this instance sees none): every relayed event would be ignored; filter on client in the edge's route instead",
        "warning",
      );
    }
  });
}

/** Places of secret values (verify secrets, the admin token, …) written literally rather than as ${VAR}. */
function inlineSecretPlaces(raw: unknown): string[] {
  const places = markedValues(ConfigSchema, raw)
    .filter((m) => m.secret === "value" && typeof m.value === "string" && !m.value.includes("${"))
    // The list, not its item: `secrets` is one setting.
    .map((m) => placeOf(typeof m.path.at(-1) === "number" ? m.path.slice(0, -1) : m.path));
  return [...new Set(places)];
}

function isWorldReadable(file: string): boolean {
  try {
    return (statSync(file).mode & 0o004) !== 0;
  } catch {
    return false;
  }
}

export function loadAndCompile(file: string, opts: CompileOptions): CompiledConfig {
  return compileConfig(loadConfigFile(file, opts.env), opts);
}

/** The same load and compile for a daemon that is serving: the file loads on another thread, the compile yields. */
export async function loadAndCompileAsync(file: string, opts: CompileOptions): Promise<CompiledConfig> {
  return compileConfigAsync(await loadOffThread(file, opts.env), opts);
}
