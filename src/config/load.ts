import { readFileSync } from "node:fs";
import type { AnySchemaObject, ErrorObject } from "ajv";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { compileExpression, ExpressionSyntaxError } from "../pipeline/expression.js";
import { targets } from "../plugins/targets/index.js";
import { verifiers } from "../plugins/verifiers/index.js";
import { forEachExpression } from "./expression-fields.js";
import { hyphenTrap } from "./hyphen-trap.js";
import { interpolate, type Path, placeOf } from "./interpolate.js";
import { createAjv, markedPlaces } from "./marks.js";
import { type Config, ConfigSchema } from "./schema.js";
import { didYouMean } from "./suggest.js";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.js";

/**
 * YAML → ${ENV} interpolation → ajv validation. Every problem is collected and reported at
 * once, each with its place (`routes[1].verify.type`) and YAML line.
 */

export interface LoadedConfig {
  file: string;
  config: Config;
  /** The document before ${VAR} interpolation: tells a secret written inline from one taken from the environment. */
  raw: unknown;
  /** 1-based line of a place in the file, for compile-time errors. */
  lineOf(path: Path): number | undefined;
  /**
   * Problems found so far (missing variables, schema). `config` is trustworthy only where no
   * issue points: compile skips those parts and reports these with its own.
   */
  issues: ConfigIssue[];
}

// Compiled once per process: ajv compilation is the slow part of validation.
const validator = createAjv().compile(ConfigSchema);
function validate(value: unknown) {
  const ok = validator(value);
  return { ok, errors: validator.errors ?? [] };
}

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((seg) => (/^[0-9]+$/.test(seg) ? Number(seg) : seg));
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) v = (v as Record<string | number, unknown> | undefined)?.[seg];
  return v;
}

/**
 * A value as an error shows it: as written in the file, before ${VAR} interpolation (the
 * variable may hold a secret, and its name tells the user as much), and not at all at or under
 * a field the schema marks as a secret: errors go to terminals, CI logs and the daemon's log.
 */
function showValue(raw: unknown, secrets: ReadonlySet<string>, path: readonly (string | number)[]): string {
  for (let n = path.length; n > 0; n--) if (secrets.has(placeOf(path.slice(0, n)))) return "the value";
  return JSON.stringify(valueAt(raw, path));
}

function describePattern(pattern: string, shown: string): string {
  if (pattern === DURATION_PATTERN) return `${shown} is not a duration (write 250ms, 10s, 5m, 2h or 1d)`;
  if (pattern === SIZE_PATTERN) return `${shown} is not a size (write 512kb or 1mb)`;
  return `${shown} is not in the expected form (${pattern})`;
}

/**
 * `unknown key "timout" (did you mean "timeout"?)`. In a map of names (exec `env`, http
 * `headers`) the key is a name that breaks the naming rule rather than an unknown option.
 */
function unknownKey(key: string, parentSchema: AnySchemaObject | undefined): string {
  const known = Object.keys((parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
  const namePatterns = Object.keys((parentSchema?.patternProperties as Record<string, unknown> | undefined) ?? {});
  if (known.length === 0 && namePatterns.length > 0)
    return `${JSON.stringify(key)} is not a valid name here (${namePatterns.join(" or ")})`;
  return `unknown key ${JSON.stringify(key)}${didYouMean(key, known)}`;
}

function describeError(e: ErrorObject, raw: unknown, secrets: ReadonlySet<string>): { extra?: string; message: string } | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return { extra: String(p.additionalProperty), message: unknownKey(String(p.additionalProperty), e.parentSchema) };
    case "required":
      return { extra: String(p.missingProperty), message: "is required" };
    case "discriminator": {
      if (p.error !== "mapping") return { extra: "type", message: "is required" };
      const given = valueAt(raw, [...pathOf(e.instancePath), "type"]);
      const types = (e.instancePath.includes("/targets/") ? targets : verifiers).map((x) => x.type);
      const hint = typeof given === "string" ? didYouMean(given, types) : "";
      return {
        extra: "type",
        message: `unknown type ${showValue(raw, secrets, [...pathOf(e.instancePath), "type"])}${hint || ` (one of ${types.join(", ")})`}`,
      };
    }
    case "pattern":
      return { message: describePattern(String(p.pattern), showValue(raw, secrets, pathOf(e.instancePath))) };
    case "const":
    case "enum":
      return {
        message: `must be ${e.keyword === "const" ? JSON.stringify(p.allowedValue) : `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`}`,
      };
    case "anyOf":
    case "oneOf":
    case "if":
      return undefined; // the branches' own errors say more
    default:
      return { message: e.message ?? e.keyword };
  }
}

/** ajv reports a Union of literals as one error per literal plus an anyOf: fold them into one. */
function schemaIssues(
  errors: readonly ErrorObject[],
  lineOf: (path: Path) => number | undefined,
  raw: unknown,
  secrets: ReadonlySet<string>,
): ConfigIssue[] {
  const byPlace = new Map<string, ConfigIssue>();
  const literalsAt = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === "const" && e.instancePath) {
      const list = literalsAt.get(e.instancePath) ?? [];
      list.push((e.params as { allowedValue: unknown }).allowedValue);
      literalsAt.set(e.instancePath, list);
      continue;
    }
    const d = describeError(e, raw, secrets);
    if (!d) continue;
    const path = pathOf(e.instancePath);
    const full = d.extra ? [...path, d.extra] : path;
    const place = placeOf(full);
    const key = `${place}\u0000${d.message}`;
    if (!byPlace.has(key)) byPlace.set(key, { place, message: d.message, line: lineOf(full) ?? lineOf(path), severity: "error" });
  }
  for (const [instancePath, allowed] of literalsAt) {
    const path = pathOf(instancePath);
    const place = placeOf(path);
    // A type mismatch on the same place already explains it (e.g. "must be boolean").
    if ([...byPlace.values()].some((i) => i.place === place)) continue;
    const message = `${showValue(raw, secrets, path)} is not allowed: must be ${allowed.length === 1 ? JSON.stringify(allowed[0]) : `one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`}`;
    byPlace.set(`${place}\u0000${message}`, { place, message, line: lineOf(path), severity: "error" });
  }
  // In a union (dedupe: true | { id, ttl }), the branch that matches the shape reports the
  // useful, deeper error; the other branch's "must be boolean" only confuses.
  const all = [...byPlace.values()];
  return all.filter(
    (i) =>
      !(
        i.message.startsWith("must be ") &&
        all.some((o) => o !== i && (o.place.startsWith(`${i.place}.`) || o.place.startsWith(`${i.place}[`)))
      ),
  );
}

/** Syntax errors of every JSONata field present (as the schema marks them), wherever the rest of the file is broken. */
function expressionIssues(value: unknown, lineOf: (path: Path) => number | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  forEachExpression(value, (source, path) => {
    try {
      compileExpression(source, placeOf(path));
    } catch (err) {
      if (err instanceof ExpressionSyntaxError)
        out.push({ place: placeOf(path), message: err.message, line: lineOf(path), severity: "error" });
    }
  });
  return out;
}

/** Expressions that parse but do not mean what they say (`headers.x-github-event`): warnings. */
function expressionWarnings(value: unknown, lineOf: (path: Path) => number | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  forEachExpression(value, (source, path) => {
    const trap = hyphenTrap(source);
    if (trap) out.push({ place: placeOf(path), message: trap, line: lineOf(path), severity: "warning" });
  });
  return out;
}

/**
 * What a caller needs of the file: all of it (`serve`, `check`, `test`, `sign`), or only the
 * `store` section (the verbs that read or replay the store): then only the store's ${VAR}s must
 * be set, the rest of the file is validated as written, and no JSONata is compiled.
 */
export type ConfigScope = "all" | "store";

/** Parses and validates config text. Throws ConfigError only when the YAML itself is broken. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, scope: ConfigScope = "all"): LoadedConfig {
  const lineCounter = new LineCounter();
  const textLines = text.split("\n");
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first YAML error is the cause; the rest usually cascade from it.
    const shown = doc.errors.slice(0, 3).map((e) => {
      const line = e.linePos?.[0]?.line;
      const text = line ? (textLines[line - 1] ?? "") : "";
      const hint = /[{[,]\s*[^"'\s]*\$\{|:\s*\$\{.*[}\]]\s*$/.test(text) ? ' (inside { } or [ ], quote ${...} values: "${NAME}")' : "";
      return { place: "", message: `YAML: ${e.message.split("\n")[0]}${hint}`, line, severity: "error" as const };
    });
    if (doc.errors.length > 3)
      shown.push({
        place: "",
        message: `YAML: ${doc.errors.length - 3} more errors, likely following from the first`,
        line: undefined,
        severity: "error",
      });
    throw new ConfigError(file, shown);
  }
  const lineOf = (path: Path): number | undefined => {
    // The line of the key (for a map entry) or the item (for a list entry); a place that does
    // not exist in the file (a missing key) reports its nearest existing parent.
    for (let n = path.length; n > 0; n--) {
      const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
      const last = path[n - 1];
      let node: Node | undefined;
      if (isMap(parent)) node = parent.items.find((it) => isScalar(it.key) && it.key.value === last)?.key as Node | undefined;
      else if (isSeq(parent) && typeof last === "number") node = parent.items[last] as Node | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const raw = doc.toJS() ?? {};
  const { value, issues, unresolved } = interpolate(
    raw,
    env,
    lineOf,
    markedPlaces(ConfigSchema, raw, (m) => m.expression),
    (path) => scope === "all" || path[0] === "store",
  );
  const { ok, errors } = validate(value);
  // A secret file's path is no secret; its content never appears in the document.
  const secrets = markedPlaces(ConfigSchema, raw, (m) => m.secret !== undefined && m.secret !== "file");
  // A missing variable already explains the empty string the schema would complain about, and
  // one the caller does not need explains it away.
  const explained = new Set([...issues.map((i) => i.place), ...unresolved]);
  const all = [...issues, ...(ok ? [] : schemaIssues(errors, lineOf, raw, secrets).filter((i) => !explained.has(i.place)))];
  if (scope === "store") return { file, config: value as Config, raw, lineOf, issues: all };
  // Compile checks the JSONata of every sound route; for the routes it must skip (and for all
  // of them when the file is broken above the routes), check it here, so that one `check`
  // run lists every problem.
  const routeOf = (place: string) => /^routes\[\d+\]/.exec(place)?.[0];
  const unsoundRoutes = new Set(all.map((i) => routeOf(i.place)));
  const wholeFile = all.some((i) => !routeOf(i.place));
  all.push(...expressionIssues(value, lineOf).filter((i) => wholeFile || unsoundRoutes.has(routeOf(i.place))));
  all.push(...expressionWarnings(value, lineOf));
  return { file, config: value as Config, raw, lineOf, issues: all };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, scope: ConfigScope = "all"): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    throw new ConfigError(file, [{ place: "", message: `cannot read the config: ${reason}`, severity: "error" }]);
  }
  return parseConfig(text, file, env, scope);
}
