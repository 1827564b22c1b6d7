import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * An adnanh/webhook hooks file, JSON or YAML (YAML reads both), and its `-template` functions
 * (docs/Templates.md): `{{ getenv "X" }}`, `{{ cat "FILE" }}` and `{{ credential "X" }}`. They
 * are kept as markers here, so that each lands where Switchyard can keep its meaning: a
 * `${X}` read when the config loads, a `secret_file`, or, in a JSONata field (which is never
 * interpolated), the value read now.
 */

/** The file cannot be used at all: exit 2. */
export class HooksFileError extends Error {}

const ACTION = /\{\{-?\s*(getenv|cat|credential)\s+"([^"\\]*)"\s*-?\}\}/g;
const MARKER = /@@switchyard:(getenv|cat|credential):([^@]*)@@/g;

export interface HooksFile {
  hooks: Record<string, unknown>[];
  /** The file used template functions (or was named a template). */
  template: boolean;
}

export function readHooksFile(path: string, forceTemplate: boolean): HooksFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new HooksFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const template = forceTemplate || path.endsWith(".tmpl") || new RegExp(ACTION.source).test(text);
  if (template) {
    text = text.replace(ACTION, (_all, fn: string, arg: string) => `@@switchyard:${fn}:${arg}@@`);
    const other = /\{\{.*?\}\}/s.exec(text);
    if (other) {
      throw new HooksFileError(
        `${path}: template action ${other[0].slice(0, 60)} is not one the importer knows (getenv, cat, credential with a quoted argument); replace it by hand first`,
      );
    }
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new HooksFileError(`${path} is neither JSON nor YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!Array.isArray(data) || data.some((h) => typeof h !== "object" || h === null || Array.isArray(h))) {
    throw new HooksFileError(`${path}: a hooks file is a list of hooks (objects with id and execute-command)`);
  }
  const seen = new Set<string>();
  for (const hook of data as Record<string, unknown>[]) {
    const id = hook.id;
    if (id === undefined || id === null || id === "") throw new HooksFileError(`${path}: a hook has no id`);
    // webhook reads ids as strings and refuses a file with another kind (`id: 123` unquoted in YAML).
    if (typeof id !== "string") throw new HooksFileError(`${path}: hook id ${JSON.stringify(id)} is not a string: quote it`);
    // adnanh/webhook refuses such a file too.
    if (seen.has(id)) throw new HooksFileError(`${path}: hook id ${JSON.stringify(id)} appears twice`);
    seen.add(id);
  }
  return { hooks: data as Record<string, unknown>[], template };
}

/** What a template function gives now, as adnanh/webhook reads it at its start ("" when missing). */
function valueNow(fn: string, arg: string, env: NodeJS.ProcessEnv): string {
  const cat = (file: string) => {
    try {
      return readFileSync(file, "utf8").replace(/\n$/, "");
    } catch {
      return "";
    }
  };
  if (fn === "getenv") return env[arg] ?? "";
  if (fn === "cat") return cat(arg);
  const dir = env.CREDENTIALS_DIRECTORY;
  return dir ? cat(join(dir, arg)) : (env[arg] ?? "");
}

export function hasMarker(text: string): boolean {
  return new RegExp(MARKER.source).test(text);
}

/** The text with template functions read now: for JSONata fields. */
export function literalText(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(MARKER, (_all, fn: string, arg: string) => valueNow(fn, arg, env));
}

/**
 * The text for a field Switchyard interpolates: `getenv` becomes `${X:-}` (empty when unset,
 * as getenv gives), the others are read now; a literal `${` is escaped as `$${`.
 */
export function interpolatedText(text: string, env: NodeJS.ProcessEnv): string {
  return text
    .split(MARKER)
    .reduce<string[]>((out, part, i, parts) => {
      // split with two groups: text, fn, arg, text, fn, arg, …
      if (i % 3 === 0) out.push(part.replaceAll("${", "$${"));
      else if (i % 3 === 1) out.push(part === "getenv" ? `\${${parts[i + 1]}:-}` : valueNow(part, parts[i + 1] ?? "", env));
      return out;
    }, [])
    .join("");
}

/**
 * A signature secret as verify options: a whole `getenv` stays an environment variable (required,
 * as an empty secret is refused), a whole `cat` or `credential` a `secret_file`; anything else
 * is the text, read now where it mixes template functions with text.
 */
export function secretOptions(text: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const whole = /^@@switchyard:(getenv|cat|credential):([^@]*)@@$/.exec(text);
  if (whole?.[1] === "getenv") return { secret: `\${${whole[2]}}` };
  if (whole?.[1] === "cat") return { secret_file: whole[2] ?? "" };
  if (whole?.[1] === "credential") return { secret_file: `\${CREDENTIALS_DIRECTORY}/${whole[2]}` };
  return { secret: literalText(text, env).replaceAll("${", "$${") };
}
