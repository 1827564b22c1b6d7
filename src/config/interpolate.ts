import type { ConfigIssue } from "../errors.js";

/**
 * `${NAME}` and `${NAME:-default}` in config strings, from the environment, at load.
 * `$${` writes a literal `${`. JSONata fields are never interpolated: `$` is JSONata's own
 * syntax there, and a secret pasted into an expression would end up in logs of its errors.
 */

export type Path = readonly (string | number)[];

export function placeOf(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolateString(text: string, env: NodeJS.ProcessEnv, missing: (name: string) => void): string {
  return text.replace(VARIABLE, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === "$${") return "${";
    const value = env[name as string];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    if (value === undefined) missing(name as string);
    return "";
  });
}

/**
 * Returns a copy of `value` with every string interpolated but those at the `verbatim` places
 * (the JSONata fields, as the schema marks them), and an issue for every variable that is
 * missing (all of them, not the first only). A missing variable at a place `required` says no
 * to is not an issue: its place is listed in `unresolved` instead (the CLI verbs that only use
 * the store need no route secrets).
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  lineOf: (path: Path) => number | undefined,
  verbatim: ReadonlySet<string>,
  required: (path: Path) => boolean = () => true,
): { value: unknown; issues: ConfigIssue[]; unresolved: string[] } {
  const issues: ConfigIssue[] = [];
  const unresolved: string[] = [];
  const walk = (v: unknown, path: Path): unknown => {
    if (typeof v === "string") {
      if (verbatim.has(placeOf(path))) return v;
      if (!required(path)) {
        // Not needed by the caller: a variable that is unset, or set but empty, leaves the place
        // unresolved rather than a value whose emptiness the schema would complain about.
        let empty = false;
        const text = interpolateString(v, env, () => {
          empty = true;
        });
        if (empty || (text === "" && v !== "")) unresolved.push(placeOf(path));
        return text;
      }
      return interpolateString(v, env, (name) => {
        issues.push({
          place: placeOf(path),
          message: `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
          line: lineOf(path),
          severity: "error",
        });
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, []), issues, unresolved };
}
