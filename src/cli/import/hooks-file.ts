import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * An adnanh/webhook hooks file, JSON or YAML (YAML reads both), and its `-template` functions
 * (docs/Templates.md): `{{ getenv "X" }}`, `{{ cat "FILE" }}` and `{{ credential "X" }}`. They
 * are kept as markers here, so that each lands where Switchyard can keep its meaning: a
 * `${X}` read when the config loads, a `secret_file`, or, in a JSONata field (which is never
 * interpolated), the value read now. A trailing pipe through Go's escaping functions is kept
 * in the marker: `js` (what docs/Templates.md shows: the value inside a quoted string, which
 * the JSON or YAML parser unescapes again, so it changes nothing), `html` and `urlquery` (which
 * change the value webhook used: it is read now and escaped the same way).
 */

/** The file cannot be used at all: exit 2. */
export class HooksFileError extends Error {}

const ACTION = /\{\{-?\s*(getenv|cat|credential)\s+"([^"\\]*)"((?:\s*\|\s*(?:js|html|urlquery))*)\s*-?\}\}/g;
const MARKER = /@@switchyard:(getenv|cat|credential):([a-z,]*):([^@]*)@@/g;

/** The pipes whose result differs from the value once the hooks file is parsed. */
const CHANGING = /html|urlquery/;

export interface HooksFile {
  hooks: Record<string, unknown>[];
  /** The file used template functions (or was named a template). */
  template: boolean;
  /** What is read differently from the file (not per hook). */
  notes: string[];
}

export function readHooksFile(path: string, forceTemplate: boolean): HooksFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new HooksFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const notes = new Set<string>();
  const template = forceTemplate || path.endsWith(".tmpl") || new RegExp(ACTION.source).test(text);
  if (template) {
    text = text.replace(ACTION, (all: string, fn: string, arg: string, piped: string) => {
      const pipes = piped
        .split("|")
        .map((p) => p.trim())
        .filter((p) => p !== "");
      if (CHANGING.test(piped))
        notes.add(`${all}: webhook used the ${pipes.join(" | ")}-escaped value: it is read now, escaped, and written into the config`);
      return `@@switchyard:${fn}:${pipes.join(",")}:${arg}@@`;
    });
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
  return { hooks: data as Record<string, unknown>[], template, notes: [...notes] };
}

/** Go's text/template html: HTMLEscapeString. */
function goHtml(text: string): string {
  const table: Record<string, string> = { '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\uFFFD" };
  return text.replace(/["'&<>\0]/g, (c) => table[c] ?? c);
}

/** Go's text/template urlquery: url.QueryEscape (only A-Z a-z 0-9 - _ . ~ stay; a space is +). */
function goQuery(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** A template function's value now, through its pipes. */
function valueNow(fn: string, pipes: string, arg: string, env: NodeJS.ProcessEnv): string {
  return pipes
    .split(",")
    .reduce((value, pipe) => (pipe === "html" ? goHtml(value) : pipe === "urlquery" ? goQuery(value) : value), rawValueNow(fn, arg, env));
}

/** What a template function gives now, as adnanh/webhook reads it at its start ("" when missing). */
function rawValueNow(fn: string, arg: string, env: NodeJS.ProcessEnv): string {
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

/** The text as the hooks file wrote it, for messages. */
export function templateText(text: string): string {
  return text.replace(
    MARKER,
    (_all, fn: string, pipes: string, arg: string) =>
      `{{ ${[`${fn} ${JSON.stringify(arg)}`, ...pipes.split(",").filter((p) => p !== "")].join(" | ")} }}`,
  );
}

export function hasMarker(text: string): boolean {
  return new RegExp(MARKER.source).test(text);
}

/** The text with template functions read now: for JSONata fields. */
export function literalText(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(MARKER, (_all, fn: string, pipes: string, arg: string) => valueNow(fn, pipes, arg, env));
}

/**
 * The text for a field Switchyard interpolates: `getenv` becomes `${X:-}` (empty when unset,
 * as getenv gives), the others are read now; a literal `${` is escaped as `$${`.
 */
export function interpolatedText(text: string, env: NodeJS.ProcessEnv): string {
  return text
    .split(MARKER)
    .reduce<string[]>((out, part, i, parts) => {
      // split with three groups: text, fn, pipes, arg, text, fn, pipes, arg, …
      const pipes = parts[i + 1] ?? "";
      const arg = parts[i + 2] ?? "";
      if (i % 4 === 0) out.push(part.replaceAll("${", "$${"));
      else if (i % 4 === 1)
        out.push(part === "getenv" && !CHANGING.test(pipes) ? `\${${arg}:-}` : valueNow(part, pipes, arg, env).replaceAll("${", "$${"));
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
  const whole = /^@@switchyard:(getenv|cat|credential):([a-z,]*):([^@]*)@@$/.exec(text);
  const kept = whole !== null && !CHANGING.test(whole[2] ?? "");
  if (kept && whole?.[1] === "getenv") return { secret: `\${${whole[3]}}` };
  if (kept && whole?.[1] === "cat") return { secret_file: whole[3] ?? "" };
  if (kept && whole?.[1] === "credential") return { secret_file: `\${CREDENTIALS_DIRECTORY}/${whole[3]}` };
  return { secret: literalText(text, env).replaceAll("${", "$${") };
}
