import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { interpolate, type Path, placeOf } from "./interpolate.js";
import { type Config, ConfigSchema } from "./schema.js";

/**
 * YAML → ${ENV} interpolation → ajv validation. Every problem is collected and reported at
 * once, each with its place (`routes[1].verify.type`) and YAML line.
 */

export interface LoadedConfig {
  file: string;
  config: Config;
  /** 1-based line of a place in the file, for compile-time errors. */
  lineOf(path: Path): number | undefined;
}

// Compiled once per process: ajv compilation is the slow part of validation.
let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(value: unknown) {
  validator ??= new Ajv({ allErrors: true, strict: true, discriminator: true, allowUnionTypes: true }).compile(ConfigSchema);
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

function describeError(e: ErrorObject): { extra?: string; message: string } | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return { extra: String(p.additionalProperty), message: "unknown key" };
    case "required":
      return { extra: String(p.missingProperty), message: "is required" };
    case "discriminator":
      return p.error === "mapping"
        ? { extra: "type", message: `unknown type ${JSON.stringify(p.tagValue)}` }
        : { extra: "type", message: "is required" };
    case "pattern":
      return {
        message: `${JSON.stringify(String(e.data))} does not match the expected form (${e.parentSchema?.description ?? String(p.pattern)})`,
      };
    case "const":
    case "enum":
      return {
        message: `must be ${e.keyword === "const" ? JSON.stringify(p.allowedValue) : `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`}`,
      };
    case "anyOf":
    case "oneOf":
      return undefined; // the branches' own errors say more
    default:
      return { message: e.message ?? e.keyword };
  }
}

/** ajv reports a Union of literals as one error per literal plus an anyOf: fold them into one. */
function schemaIssues(errors: readonly ErrorObject[], lineOf: (path: Path) => number | undefined, value: unknown): ConfigIssue[] {
  const byPlace = new Map<string, ConfigIssue>();
  const literalsAt = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === "const" && e.instancePath) {
      const list = literalsAt.get(e.instancePath) ?? [];
      list.push((e.params as { allowedValue: unknown }).allowedValue);
      literalsAt.set(e.instancePath, list);
      continue;
    }
    const d = describeError(e);
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
    let actual: unknown = value;
    for (const seg of path) actual = (actual as Record<string | number, unknown> | undefined)?.[seg];
    const message = `${JSON.stringify(actual)} is not allowed: must be ${allowed.length === 1 ? JSON.stringify(allowed[0]) : `one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`}`;
    byPlace.set(`${place}\u0000${message}`, { place, message, line: lineOf(path), severity: "error" });
  }
  return [...byPlace.values()];
}

/** Parses and validates config text. Throws ConfigError listing every problem. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
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
  const { value, issues } = interpolate(raw, env, lineOf);
  const { ok, errors } = validate(value);
  // A missing variable already explains the empty string the schema would complain about.
  const explained = new Set(issues.map((i) => i.place));
  const all = [...issues, ...(ok ? [] : schemaIssues(errors, lineOf, value).filter((i) => !explained.has(i.place)))];
  if (all.length > 0) throw new ConfigError(file, all);
  return { file, config: value as Config, lineOf };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    throw new ConfigError(file, [{ place: "", message: `cannot read the config: ${reason}`, severity: "error" }]);
  }
  return parseConfig(text, file, env);
}
