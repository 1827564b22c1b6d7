import { isAbsolute, join } from "node:path";
import { ANSWER_OPTIONS, answerOf } from "./answer.js";
import { hasMarker, interpolatedText, literalText, secretOptions, templateText } from "./hooks-file.js";
import { type HookArgument, jsonParameters, parameterExpression } from "./parameter.js";
import { convertRule } from "./trigger-rule.js";

/** One adnanh/webhook hook (docs/Hook-Definition.md) as one Switchyard route with one exec target. */

export interface ConvertedHook {
  id: string;
  /** Undefined when the hook could not become a route at all. */
  route?: Record<string, unknown>;
  /** What is not converted exactly, each with its reason. */
  problems: string[];
}

export interface ConvertOptions {
  /** adnanh/webhook's -urlprefix: the path is `/{prefix}/{id}`, or `/{id}` when empty. */
  urlPrefix: string;
  env: NodeJS.ProcessEnv;
  /** Route names taken by the hooks before this one. */
  taken: Set<string>;
}

const KNOWN = new Set<string>([
  "id",
  "execute-command",
  "command-working-directory",
  "pass-arguments-to-command",
  "pass-environment-to-command",
  "pass-file-to-command",
  "parse-parameters-as-json",
  "trigger-rule",
  "trigger-signature-soft-failures",
  "http-methods",
  "incoming-payload-content-type",
  ...ANSWER_OPTIONS,
]);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A route name from a hook id: `[a-z0-9_-]+`, at most 64 characters, unique. */
function routeName(id: string, taken: Set<string>): string {
  const base =
    id
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 58) || "hook";
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

/** A path segment as the route's `path` pattern allows it. */
function segment(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isHeader(value: unknown): value is { name?: unknown; value?: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): HookArgument[] {
  return Array.isArray(value) ? (value.filter((v) => typeof v === "object" && v !== null) as HookArgument[]) : [];
}

export function convertHook(hook: Record<string, unknown>, o: ConvertOptions): ConvertedHook {
  const id = String(hook.id);
  const problems: string[] = [];
  const command = typeof hook["execute-command"] === "string" ? hook["execute-command"] : "";
  if (command === "") return { id, problems: ["no execute-command: adnanh/webhook had nothing to run, so there is no route"] };
  for (const key of Object.keys(hook)) if (!KNOWN.has(key)) problems.push(`${key}: not an adnanh/webhook hook option; ignored`);

  const name = routeName(id, o.taken);
  const prefix = o.urlPrefix.replace(/^\/+|\/+$/g, "");
  const path = `/${[...prefix.split("/"), ...id.split("/")]
    .filter((p) => p !== "")
    .map(segment)
    .join("/")}`;
  const { json, problems: jsonProblems } = jsonParameters(hook["parse-parameters-as-json"]);
  problems.push(...jsonProblems);

  const notes = new Set<string>();
  const literal = (text: string) => {
    const value = literalText(text, o.env);
    if (value !== text)
      notes.add("a template function in a trigger rule was read now: JSONata fields are not interpolated when the config loads");
    return value;
  };
  const rule = convertRule(hook["trigger-rule"], {
    json,
    softFailures: hook["trigger-signature-soft-failures"] === true,
    literal,
    secret: (text) => secretOptions(text, o.env),
  });
  problems.push(...rule.problems);
  for (const n of rule.notes) notes.add(n);
  if (hook["trigger-signature-soft-failures"] === true && !Array.isArray(rule.verify?.secrets)) {
    problems.push("trigger-signature-soft-failures: a signature is always the route's verify, never a soft failure inside or");
  }

  // adnanh/webhook looks a relative command up in command-working-directory when one is set.
  const cwd =
    typeof hook["command-working-directory"] === "string" ? interpolatedText(hook["command-working-directory"], o.env) : undefined;
  let program = interpolatedText(command, o.env);
  if (cwd !== undefined && !isAbsolute(program) && !program.startsWith("$")) program = join(cwd, program);
  else if (!isAbsolute(program) && program.includes("/")) {
    notes.add(
      `execute-command ${templateText(command)}: a relative path is now relative to the config file's folder, not to where webhook was started`,
    );
  }
  // webhook looks the whole text up as one program and fails; what was meant is a program and its arguments.
  const argv = program.trim().split(/\s+/);
  if (argv.length > 1) {
    problems.push(
      `execute-command ${JSON.stringify(templateText(command))}: webhook could not run it (no program has that name); it is split at spaces into ${JSON.stringify(argv)}`,
    );
  }

  // A token that became verify is removed from the stored event: a command given it gets "".
  const token = rule.verify?.type === "token" ? rule.verify : undefined;
  const scrubbed = (a: HookArgument, where: string) => {
    const name = String(a.name ?? "");
    const hit =
      token !== undefined &&
      ((a.source === "header" && typeof token.header === "string" && name.toLowerCase() === token.header.toLowerCase()) ||
        ((a.source === "url" || a.source === "query") && name === token.query));
    if (hit) problems.push(`${where}: the token ${name} is checked by verify and removed from the stored event, so the command gets ""`);
  };
  const target: Record<string, unknown> = { name: "run", type: "exec", command: argv };
  const args = list(hook["pass-arguments-to-command"]).map((a, i) => {
    scrubbed(a, `pass-arguments-to-command[${i}]`);
    const p = parameterExpression(a, json, "command");
    if ("problem" in p) {
      problems.push(`pass-arguments-to-command[${i}]: ${p.problem}; an empty argument is passed, as adnanh/webhook does`);
      return '""';
    }
    if (p.note) notes.add(p.note);
    return p.expr;
  });
  if (args.length > 0) target.args = args;

  const env: Record<string, string> = {};
  const envName = (a: HookArgument, where: string, upper: boolean): string | undefined => {
    const given = typeof a.envname === "string" && a.envname !== "" ? a.envname : undefined;
    const raw = given ?? `HOOK_${upper ? String(a.name ?? "").toUpperCase() : String(a.name ?? "")}`;
    if (ENV_NAME.test(raw)) return raw;
    const fixed = raw.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([0-9])/, "_$1");
    problems.push(`${where}: environment name ${JSON.stringify(raw)} is not a shell variable name; it is ${fixed} here`);
    return fixed;
  };
  list(hook["pass-environment-to-command"]).forEach((a, i) => {
    const where = `pass-environment-to-command[${i}]`;
    scrubbed(a, where);
    const p = parameterExpression(a, json, "command");
    // adnanh/webhook leaves out a variable whose value it cannot get.
    if ("problem" in p) {
      problems.push(`${where}: ${p.problem}; the variable is not set`);
      return;
    }
    if (p.note) notes.add(p.note);
    const n = envName(a, where, false);
    if (n) env[n] = p.expr;
  });
  if (Object.keys(env).length > 0) target.env = env;

  const files: Record<string, string | { value: string; base64: true }> = {};
  list(hook["pass-file-to-command"]).forEach((a, i) => {
    const where = `pass-file-to-command[${i}]`;
    scrubbed(a, where);
    const p = parameterExpression(a, json, "command");
    if ("problem" in p) {
      problems.push(`${where}: ${p.problem}; no file is written`);
      return;
    }
    if (p.note) notes.add(p.note);
    const n = envName(a, where, true);
    if (!n) return;
    files[n] = a.base64decode === true ? { value: p.expr, base64: true } : p.expr;
    // adnanh/webhook sets the file's variable after the others: it wins.
    delete env[n];
  });
  if (Object.keys(files).length > 0) {
    target.files = files;
    if (Object.keys(env).length === 0) delete target.env;
    // Without one, webhook used the system's temporary folder, as Switchyard does.
    if (cwd !== undefined)
      notes.add("pass-file-to-command: the files are written in a private temporary folder, not in command-working-directory");
  }
  if (cwd !== undefined) target.cwd = cwd;

  const route: Record<string, unknown> = { name, path };
  const methods = Array.isArray(hook["http-methods"])
    ? [...new Set(hook["http-methods"].map((m) => String(m).trim().toUpperCase()).filter((m) => /^[A-Z]+$/.test(m)))]
    : [];
  if (methods.length > 0 && !(methods.length === 1 && methods[0] === "POST")) route.methods = methods;
  route.verify = rule.verify ?? { type: "none" };
  if (typeof hook["incoming-payload-content-type"] === "string" && hook["incoming-payload-content-type"] !== "") {
    route.content_type = hook["incoming-payload-content-type"];
  }
  if (rule.filter) route.filter = rule.filter;
  // The answer's body is JSONata (never interpolated): a template function in it is read now;
  // its headers are interpolated when the config loads.
  const message = hook["response-message"];
  const headers = hook["response-headers"];
  const answered = {
    ...hook,
    ...(typeof message === "string" ? { "response-message": literalText(message, o.env) } : {}),
    ...(Array.isArray(headers)
      ? {
          "response-headers": headers.map((h: unknown) =>
            isHeader(h) && typeof h.value === "string" ? { ...h, value: interpolatedText(h.value, o.env) } : h,
          ),
        }
      : {}),
  };
  const answer = answerOf(answered, String(target.name));
  if (typeof message === "string" && hasMarker(message))
    notes.add("response-message: its template function was read now, as the answer's body is not interpolated when the config loads");
  problems.push(...answer.problems);
  if (answer.respond) route.respond = answer.respond;
  route.targets = [target];
  return { id, route, problems: [...problems, ...[...notes].map((n) => `${n} (converted, not exactly the same)`)] };
}
