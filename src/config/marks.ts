import { type SchemaOptions, type TSchema, Type } from "@sinclair/typebox";
import { Ajv } from "ajv";
import { type Path, placeOf } from "./interpolate.js";

/**
 * Marks a schema puts on its fields, so that the core treats a plugin's fields right without
 * knowing the plugin: JSONata expressions are never ${VAR}-interpolated and are compiled at
 * load; secrets are masked in error texts, never shown in config errors, and warned about when
 * written inline. Interpolation, compilation, redaction and config errors walk these marks.
 *
 * They are JSON Schema annotations (`x-` keywords) declared to ajv, so ajv's strict mode keeps
 * refusing unknown keywords and an editor reading the schema ignores them.
 */

export const EXPRESSION_MARK = "x-expression";
export const SECRET_MARK = "x-secret";
/** A default that is not a literal value (`64 × body_limit`), for the README only. */
export const DEFAULT_TEXT_MARK = "x-default";

/**
 * What kind of secret a field holds:
 * - `value`: the string itself (a list of them when the mark is on the items);
 * - `file`: a path to a file whose content (trailing newline dropped) is the secret;
 * - `url`: a URL whose `user:password@` part is a credential;
 * - `headers`: header name → value; values named like credentials or set from ${VAR} are secret.
 */
export type SecretKind = "value" | "file" | "url" | "headers";

/** One ajv with the marks declared, built the way the loader needs it; plugins' tests use it too. */
export function createAjv(): Ajv {
  // verbose: errors carry their schema, so an unknown key can be matched against the known ones.
  const ajv = new Ajv({ allErrors: true, strict: true, discriminator: true, allowUnionTypes: true, verbose: true });
  ajv.addKeyword({ keyword: EXPRESSION_MARK, schemaType: "boolean" });
  ajv.addKeyword({ keyword: SECRET_MARK, schemaType: "string" });
  ajv.addKeyword({ keyword: DEFAULT_TEXT_MARK, schemaType: "string" });
  return ajv;
}

/** A JSONata field. */
export function ExpressionField(options: SchemaOptions = {}) {
  return Type.String({ minLength: 1, ...options, [EXPRESSION_MARK]: true });
}

/** A field that holds a secret of the given kind (a string unless `schema` says otherwise). */
export function SecretField<T extends TSchema>(kind: SecretKind, schema: T): T {
  return { ...schema, [SECRET_MARK]: kind };
}

export interface MarkedValue {
  path: Path;
  value: unknown;
  expression: boolean;
  secret?: SecretKind;
}

type SchemaNode = Record<string, unknown>;

function isNode(v: unknown): v is SchemaNode {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The schema of `key` inside an object schema: its property, a matching pattern, or additionalProperties. */
function propertySchema(s: SchemaNode, key: string): unknown {
  if (isNode(s.properties) && Object.hasOwn(s.properties, key)) return s.properties[key];
  if (isNode(s.patternProperties)) {
    const patterns = Object.entries(s.patternProperties);
    // A key the pattern refuses is still meant as one of these (the schema reports it): treat
    // it as such, so an expression with a bad name is not interpolated meanwhile.
    const match = patterns.find(([p]) => new RegExp(p, "u").test(key)) ?? (patterns.length === 1 ? patterns[0] : undefined);
    if (match) return match[1];
  }
  return isNode(s.additionalProperties) ? s.additionalProperties : undefined;
}

/** The branches of a union that apply to the value: by discriminator when it picks one, else all. */
function branchesFor(s: SchemaNode, value: unknown): unknown[] {
  const branches = Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : [];
  const key = isNode(s.discriminator) ? s.discriminator.propertyName : undefined;
  if (typeof key !== "string" || !isNode(value)) return branches;
  const chosen = branches.filter(
    (b) => isNode(b) && isNode(b.properties) && isNode(b.properties[key]) && b.properties[key].const === value[key],
  );
  // An unknown type is reported by the schema; meanwhile every branch's marks apply.
  return chosen.length > 0 ? chosen : branches;
}

/**
 * Every marked value in `value`, read alongside `schema`. Works on any document, valid or not:
 * the loader needs the marks before validation (to know what not to interpolate).
 */
export function markedValues(schema: TSchema, value: unknown): MarkedValue[] {
  const found = new Map<string, MarkedValue>();
  const walk = (node: unknown, v: unknown, path: Path): void => {
    if (!isNode(node)) return;
    const expression = node[EXPRESSION_MARK] === true;
    const secret = node[SECRET_MARK] as SecretKind | undefined;
    if (expression || secret) {
      const key = placeOf(path);
      const seen = found.get(key);
      found.set(key, { path, value: v, expression: expression || seen?.expression === true, secret: secret ?? seen?.secret });
    }
    for (const branch of branchesFor(node, v)) walk(branch, v, path);
    if (isNode(v)) for (const [k, item] of Object.entries(v)) walk(propertySchema(node, k), item, [...path, k]);
    if (Array.isArray(v) && isNode(node.items)) {
      const items = node.items;
      v.forEach((item, i) => {
        walk(items, item, [...path, i]);
      });
    }
  };
  walk(schema, value, []);
  return [...found.values()];
}

/** The places (as `placeOf` spells them) of the marked values that pass `keep`. */
export function markedPlaces(schema: TSchema, value: unknown, keep: (m: MarkedValue) => boolean): Set<string> {
  return new Set(
    markedValues(schema, value)
      .filter(keep)
      .map((m) => placeOf(m.path)),
  );
}
