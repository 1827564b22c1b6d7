/**
 * adnanh/webhook's request values ("Referencing request values": `{ source, name }`) as JSONata
 * over a Switchyard event. Read from its internal/hook/hook.go (Argument.Get, GetParameter):
 * - `header` names are case-insensitive (Switchyard's are lower-cased); `url`/`query` and
 *   `payload` take dotted paths where a number indexes an array (`commits.0.commit.id`);
 * - a value becomes text as adnanh/webhook makes it: strings as they are, objects and arrays as
 *   JSON (Switchyard's exec `args`/`env` do the same with a JSONata result);
 * - `parse-parameters-as-json` names values that hold JSON text: a path through one reads it
 *   with `$eval` first.
 */

export interface HookArgument {
  source?: unknown;
  name?: unknown;
  envname?: unknown;
  base64decode?: unknown;
}

/** The JSONata for a value, or why it has none; `note` says where it is not exactly the same. */
export type ParameterExpression = { expr: string; note?: string } | { problem: string };

/** A value named in `parse-parameters-as-json`: its source's base and its path. */
export interface JsonParameter {
  base: "body" | "query" | "headers";
  name: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One path step: `.name`, `."odd-name"`, or `[3]` for a number (an array index in adnanh/webhook). */
function step(segment: string): string {
  if (/^[0-9]+$/.test(segment)) return `[${segment}]`;
  return IDENTIFIER.test(segment) ? `.${segment}` : `.${JSON.stringify(segment)}`;
}

function baseOf(source: string): JsonParameter["base"] | undefined {
  if (source === "payload") return "body";
  if (source === "url" || source === "query") return "query";
  if (source === "header") return "headers";
  return undefined;
}

/** A dotted name under a base, through `$eval` where a JSON-text value lies on the way. */
function pathExpression(base: JsonParameter["base"], name: string, json: readonly JsonParameter[]): string {
  const key = (n: string) => (base === "headers" ? n.toLowerCase() : n);
  // The longest JSON-text value that is this name or a prefix of it.
  const through = json
    .filter((j) => j.base === base && (key(name) === key(j.name) || key(name).startsWith(`${key(j.name)}.`)))
    .sort((a, b) => b.name.length - a.name.length)[0];
  if (through) {
    const rest = name.slice(through.name.length + 1);
    const inner = pathExpression(base, through.name, []);
    return `$eval(${inner})${rest === "" ? "" : rest.split(".").map(step).join("")}`;
  }
  // A header's name is one key (a dot in it is part of the name); its value is text.
  if (base === "headers") return `headers${step(name.toLowerCase())}`;
  const steps = name.split(".").map(step);
  // adnanh/webhook puts a JSON array payload under the key `root`; here the body is the array.
  if (base === "body" && steps[0] === ".root") {
    const rest = steps.slice(1).join("");
    return `($type(body) = "array" ? body${rest} : body.root${rest})`;
  }
  return base + steps.join("");
}

/** Header names as Go writes them (`X-Hub-Signature`), so `entire-headers` reads as adnanh/webhook gives it. */
const CANONICAL_HEADERS =
  '$string($merge($each(headers, function($v, $k) { { $join($map($split($k, "-"), function($w) { $uppercase($substring($w, 0, 1)) & $substring($w, 1) }), "-"): $v } })))';

/**
 * `where`: `rule` for a trigger rule (evaluated at the ingress, where the client address is
 * known), `command` for what a command gets (evaluated at delivery, where it is not).
 */
export function parameterExpression(arg: HookArgument, json: readonly JsonParameter[], where: "rule" | "command"): ParameterExpression {
  const source = typeof arg.source === "string" ? arg.source : "";
  const name = typeof arg.name === "string" ? arg.name : "";
  const base = baseOf(source);
  if (base) return name === "" ? { problem: `source "${source}" needs a name` } : { expr: pathExpression(base, name, json) };
  switch (source) {
    case "string":
      return { expr: JSON.stringify(name) };
    case "request": {
      const what = name.toLowerCase();
      if (what === "method") return { expr: "method" };
      if (what !== "remote-addr") return { problem: `request value "${name}" is not one adnanh/webhook has (method, remote-addr)` };
      return where === "rule"
        ? { expr: "client", note: 'request "remote-addr" is the address alone here, without adnanh/webhook\'s ":port"' }
        : { problem: 'request "remote-addr" is known at the ingress only: a command cannot be given the client address' };
    }
    case "entire-payload":
      return { expr: "$string(body)", note: "entire-payload: the same JSON, its keys in the order received rather than sorted" };
    case "entire-query":
      return { expr: "$string(query)" };
    case "entire-headers":
      return { expr: CANONICAL_HEADERS };
    case "raw-request-body":
      return {
        expr: '($type(body) = "string" ? body : $string(body))',
        note: "raw-request-body: a JSON or form body is given re-serialized as compact JSON, not byte for byte",
      };
    default:
      return { problem: `unknown source "${source}"` };
  }
}

/** The `parse-parameters-as-json` entries this converter can follow, and the others' problems. */
export function jsonParameters(list: unknown): { json: JsonParameter[]; problems: string[] } {
  const json: JsonParameter[] = [];
  const problems: string[] = [];
  for (const entry of Array.isArray(list) ? (list as HookArgument[]) : []) {
    const base = typeof entry?.source === "string" ? baseOf(entry.source) : undefined;
    if (base && typeof entry.name === "string" && entry.name !== "") json.push({ base, name: entry.name });
    else problems.push(`parse-parameters-as-json: ${JSON.stringify(entry)} is not a payload, header or query value`);
  }
  return { json, problems };
}
