import type { TSchema } from "@sinclair/typebox";
import { DEFAULT_TEXT_MARK } from "../config/marks.js";
import { RespondSchema } from "../config/respond-schema.js";
import { RouteSchema, ServerSchema, StoreSchema } from "../config/schema.js";
import { targets } from "../plugins/targets/index.js";
import { TARGET_COMMON_KEYS } from "../plugins/targets/target.js";
import { verifiers } from "../plugins/verifiers/index.js";
import { SECRET_KEYS } from "../plugins/verifiers/verifier.js";
import { RelaySchema } from "../relay/relay-settings.js";

/**
 * The README's reference tables, generated from the schema and the plugin registries: the
 * descriptions and defaults the code validates and uses are the ones users read. `npm run docs`
 * writes them between `<!-- generated:NAME -->` and `<!-- /generated -->`; a test fails when
 * the README's copy differs.
 */

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function propertiesOf(schema: TSchema): [string, Node][] {
  const props = (schema as Node).properties;
  return isNode(props) ? Object.entries(props).filter((e): e is [string, Node] => isNode(e[1])) : [];
}

function requiredOf(schema: TSchema): ReadonlySet<string> {
  const req = (schema as Node).required;
  return new Set(Array.isArray(req) ? req.map(String) : []);
}

/** A table cell: one line, and no `|` that would end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

function code(value: unknown): string {
  return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

/** `a`, `b` or `c`. */
function alternatives(values: readonly string[]): string {
  return values.length < 2 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
}

/** The literal values a field allows (an enum, or a union of constants). */
function allowedValues(node: Node): unknown[] | undefined {
  if (Array.isArray(node.enum)) return node.enum;
  const branches = Array.isArray(node.anyOf) ? node.anyOf : undefined;
  if (branches?.every((b) => isNode(b) && "const" in b)) return branches.map((b) => (b as Node).const);
  return undefined;
}

/** `{ attempts: 8, backoff: 1s }` for an object whose every field has a default. */
function objectDefault(node: Node): string | undefined {
  const props = isNode(node.properties) ? Object.entries(node.properties) : [];
  if (props.length === 0 || !props.every(([, p]) => isNode(p) && p.default !== undefined)) return undefined;
  return code(`{ ${props.map(([k, p]) => `${k}: ${String((p as Node).default)}`).join(", ")} }`);
}

function defaultOf(node: Node): string | undefined {
  if (node.default !== undefined) return code(node.default);
  if (typeof node[DEFAULT_TEXT_MARK] === "string") return node[DEFAULT_TEXT_MARK];
  return objectDefault(node);
}

/** The description, led by the allowed values unless it names them all itself. */
function meaning(node: Node): string {
  const description = typeof node.description === "string" ? node.description : "";
  const allowed = allowedValues(node)?.map(code);
  if (!allowed || allowed.every((v) => description.includes(v))) return description;
  return description ? `${allowed.join(", ")}; ${description}` : alternatives(allowed);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n");
}

/** `| key | default | meaning |` for an object schema; `skip` leaves keys out. */
function keyTable(schema: TSchema, skip: ReadonlySet<string> = new Set()): string {
  const required = requiredOf(schema);
  const rows = propertiesOf(schema)
    .filter(([key]) => !skip.has(key))
    .map(([key, node]) => [code(key), required.has(key) ? "required" : (defaultOf(node) ?? "—"), meaning(node)]);
  return table(["key", "default", "meaning"], rows);
}

function routesTable(): string {
  const required = requiredOf(RouteSchema);
  const rows = propertiesOf(RouteSchema).map(([key, node]) => [code(key), required.has(key) ? "yes" : "no", meaning(node)]);
  return table(["key", "required", "meaning"], rows);
}

function schemesBlock(): string {
  const schemes = table(
    [code("type"), "what is checked", `delivery id for ${code("dedupe: true")}`],
    verifiers.map((v) => [code(v.type), v.description, v.deliveryId || "—"]),
  );
  const withSecret = verifiers.find((v) => v.needsSecret);
  const secretRows = withSecret
    ? propertiesOf(withSecret.schema)
        .filter(([key]) => SECRET_KEYS.includes(key))
        .map(([key, node]) => [code(key), meaning(node)])
    : [];
  const options = verifiers.flatMap((v) => {
    const required = requiredOf(v.schema);
    return propertiesOf(v.schema)
      .filter(([key]) => key !== "type" && !SECRET_KEYS.includes(key))
      .map(([key, node]) => [code(v.type), code(key), required.has(key) ? "required" : (defaultOf(node) ?? "—"), meaning(node)]);
  });
  return [
    schemes,
    `The secret, for every scheme but ${alternatives(verifiers.filter((v) => !v.needsSecret).map((v) => code(v.type)))} (exactly one of these):`,
    table(["key", "meaning"], secretRows),
    "Options of particular schemes:",
    table([code("type"), "key", "default", "meaning"], options),
  ].join("\n\n");
}

/** The keys every target takes (one table, each plugin's default), then each target's own keys. */
function targetsBlock(): string {
  const first = targets[0];
  if (!first) return "";
  const common = new Map(propertiesOf(first.schema));
  const rows = TARGET_COMMON_KEYS.map((key) => {
    if (key === "type") return [code("type"), "required", alternatives(targets.map((t) => code(t.type)))];
    const node = common.get(key) ?? {};
    if (requiredOf(first.schema).has(key)) return [code(key), "required", meaning(node)];
    const defaults = targets.map((t) => {
      const own = new Map(propertiesOf(t.schema)).get(key);
      return own ? defaultOf(own) : undefined;
    });
    const shown = new Set(defaults).size === 1 ? (defaults[0] ?? "—") : targets.map((t, i) => `${t.type} ${defaults[i] ?? "—"}`).join(", ");
    return [code(key), shown, meaning(node)];
  });
  const own = targets.map(
    (t) => `**${code(t.type)}**: ${t.description}\n\n${keyTable(t.schema, new Set<string>([...TARGET_COMMON_KEYS, "type"]))}`,
  );
  return ["Keys every target takes:", table(["key", "default", "meaning"], rows), ...own].join("\n\n");
}

/** Every generated block of the README, by marker name. */
export function referenceBlocks(): Record<string, string> {
  return {
    "config-server": keyTable(ServerSchema),
    "config-store": keyTable(StoreSchema),
    "config-routes": routesTable(),
    "config-schemes": schemesBlock(),
    "config-targets": targetsBlock(),
    "config-relays": `Each entry of \`relays\`:\n\n${keyTable(RelaySchema)}`,
    "config-respond": keyTable(RespondSchema),
  };
}

const BLOCK = /<!-- generated:([a-z0-9-]+) -->\n([\s\S]*?)<!-- \/generated -->/g;

/** The blocks as the README has them now. */
export function readmeBlocks(readme: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readme.matchAll(BLOCK)) out[m[1] as string] = (m[2] as string).replace(/\n$/, "");
  return out;
}

/** The README with every generated block replaced; throws when a block has no markers. */
export function renderReadme(readme: string, blocks: Record<string, string> = referenceBlocks()): string {
  const present = readmeBlocks(readme);
  const missing = Object.keys(blocks).filter((name) => !(name in present));
  if (missing.length > 0) {
    throw new Error(`README.md has no markers for ${missing.join(", ")}: add <!-- generated:NAME --> … <!-- /generated -->`);
  }
  return readme.replace(BLOCK, (whole, name: string) => {
    const body = blocks[name];
    return body === undefined ? whole : `<!-- generated:${name} -->\n${body}\n<!-- /generated -->`;
  });
}
