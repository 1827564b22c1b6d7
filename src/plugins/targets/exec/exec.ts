import { isUtf8 } from "node:buffer";
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { Type } from "@sinclair/typebox";
import { DEFAULT_TEXT_MARK, ExpressionField } from "../../../config/marks.js";
import { formatDelay } from "../../../pipeline/backoff.js";
import type { Expression } from "../../../pipeline/expression.js";
import { type DeliveryInput, type DeliveryOutcome, defineTarget, OptionProblems, type TargetAnswer } from "../target.js";
import { commandProblem } from "./exec-command.js";
import { compileFiles, filesOption, renderFiles, withTempFiles } from "./exec-files.js";
import type { RunResult } from "./helper-client.js";

/** The daemon's variables a command inherits; everything else (tokens, secrets) stays out of the child. */
const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME"] as const;
const ERROR_TAIL_CHARS = 500;

/** A JSONata result as one argv/env string: JSON for structures, "" for nothing. */
function stringify(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "";
}

function tailOf(text: string): string {
  const t = text.trim();
  return t.length > ERROR_TAIL_CHARS ? `…${t.slice(-ERROR_TAIL_CHARS)}` : t;
}

/** Why a run did not deliver, as the error text stored with the retry. */
function failure(r: RunResult, command: string, timeoutMs: number): string {
  if (r.spawnError) {
    const e = r.spawnError;
    if (e.code === "ENOENT") return command.includes("/") ? `command not found: ${command}` : `command not found on PATH: ${command}`;
    if (e.code === "EACCES") return `command is not executable (permission denied): ${command}`;
    return `cannot run ${command}: ${e.code === "EHELPER" ? e.message : (e.code ?? e.message)}`;
  }
  if (r.stopped === "timeout") return `timed out after ${formatDelay(timeoutMs)}, process group killed`;
  if (r.stopped === "shutdown") return "aborted: the daemon is shutting down, process group killed";
  // Scripts often print their complaint on stdout; use it when stderr is silent.
  const said = tailOf(r.stderr) || tailOf(r.stdout);
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return said ? `${how}: ${said}` : how;
}

/** The command's stdout as the webhook's answer; `respond` gives it a status and a type. */
function answerOf(stdoutHead: string, limit: number, redact: (text: string) => string): TargetAnswer {
  const bytes = Buffer.from(stdoutHead, "base64");
  if (bytes.length > limit) return { kind: "too_large", limit };
  // Masked as the log line is: a script that prints a credential must not hand it to the provider.
  const body = isUtf8(bytes) ? Buffer.from(redact(bytes.toString("utf8")), "utf8") : bytes;
  return { kind: "answer", headers: {}, body };
}

export const exec = defineTarget({
  type: "exec",
  description: "runs a command for each event, with the event as JSON on stdin",
  defaultTimeout: "5m",
  defaultConcurrency: 1,
  properties: {
    command: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "argv array; a bare name is looked up on `PATH`, a path with a `/` is relative to the config file's folder; " +
        "never run through a shell, so no payload text is ever interpreted",
    }),
    args: Type.Optional(
      Type.Array(ExpressionField(), {
        description: "JSONata each, appended to argv; strings as they are, other values as JSON, undefined as an empty string",
      }),
    ),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), ExpressionField(), {
        additionalProperties: false,
        description: "name → JSONata; added to the command's environment (see below)",
      }),
    ),
    files: Type.Optional(filesOption),
    cwd: Type.Optional(
      Type.String({
        minLength: 1,
        [DEFAULT_TEXT_MARK]: "the config file's folder",
        description: "working directory, relative to the config file's folder",
      }),
    ),
    coalesce: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "events that pile up while a run is in progress collapse into one run with the newest event — five quick pushes " +
          "become one deploy, not five; the older deliveries are marked `coalesced`. `false`: every event gets its own run",
      }),
    ),
  },
  // At load, not at the first delivery: `check` says so before the first webhook fails.
  check(o, ctx) {
    const problem = commandProblem(o.command[0] ?? "", ctx.configDir, ctx.env);
    return problem ? [{ at: ["command", 0], message: problem }] : [];
  },
  create(o, ctx) {
    const [program = "", ...fixedArgs] = o.command;
    // Bare names stay bare: spawn searches the child's PATH for them.
    const command = isAbsolute(program) || !program.includes("/") ? program : resolve(ctx.configDir, program);
    const cwd = o.cwd === undefined ? ctx.configDir : resolve(ctx.configDir, o.cwd);
    // Every field is checked before giving up, so that one `check` run lists every problem.
    const args: Expression[] = (o.args ?? []).map((source, i) => ctx.compile(source, `args[${i}]`));
    const env: [string, Expression][] = Object.entries(o.env ?? {}).map(([name, source]) => [name, ctx.compile(source, `env.${name}`)]);
    const files = compileFiles(o.files, ctx.compile);
    const clash = files.find((f) => o.env?.[f.name] !== undefined);
    if (clash)
      throw new OptionProblems([{ field: `files.${clash.name}`, message: `${clash.name} is also set in env: give it one meaning` }]);
    if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory())
      throw new OptionProblems([{ field: "cwd", message: `${cwd} is not a folder` }]);

    /** argv, the variables this target adds, and stdin; JSONata errors propagate. */
    const prepare = async (input: DeliveryInput) => {
      const argv = [command, ...fixedArgs];
      for (const a of args) argv.push(stringify(await a.evaluate(input.event)));
      const own: Record<string, string> = {
        SWITCHYARD_EVENT_ID: input.event.id,
        SWITCHYARD_ROUTE: ctx.route,
        SWITCHYARD_TARGET: ctx.name,
      };
      for (const [name, e] of env) own[name] = stringify(await e.evaluate(input.event));
      // A C string ends at NUL: the command would see a shorter value than the event holds.
      const nul = [...argv, ...Object.values(own)].some((v) => v.includes("\0"));
      if (nul) throw new Error("an args or env value contains a NUL byte, which a command line cannot carry");
      const json: string | undefined = JSON.stringify(input.transformed ? input.transformed.value : input.event);
      const contents = await renderFiles(files, input.event, stringify);
      return { argv, env: own, files: contents, stdin: json === undefined ? "" : `${json}\n` };
    };

    return {
      coalesce: o.coalesce === true,
      async render(input) {
        const { files: contents, ...rest } = await prepare(input);
        if (contents.size === 0) return rest;
        // What each file would hold; its path exists only during a real run.
        return { ...rest, files: Object.fromEntries([...contents].map(([name, bytes]) => [name, bytes.toString("utf8")])) };
      },

      async deliver(input, signal): Promise<DeliveryOutcome> {
        let prepared: Awaited<ReturnType<typeof prepare>>;
        try {
          prepared = await prepare(input);
        } catch (err) {
          // The same event gives the same JSONata error next time: a retry cannot help.
          return { kind: "fail", error: err instanceof Error ? err.message : String(err) };
        }
        if (signal.aborted) return { kind: "retry", error: "aborted: the daemon is shutting down" };
        const inherited: NodeJS.ProcessEnv = {};
        for (const name of INHERITED_ENV) if (process.env[name] !== undefined) inherited[name] = process.env[name];
        let r: RunResult;
        try {
          r = await withTempFiles(prepared.files, (paths) =>
            ctx.commands.run(prepared.argv, {
              cwd,
              env: { ...inherited, ...prepared.env, ...paths },
              stdin: prepared.stdin,
              timeoutMs: ctx.timeoutMs,
              signal,
              ...(input.answer ? { keepStdout: input.answer.limit } : {}),
            }),
          );
        } catch (err) {
          // The temporary folder could not be written (disk full, TMPDIR gone): may pass later.
          return { kind: "retry", error: `cannot write the files for the command: ${(err as Error).message}` };
        }
        const eventId = input.event.id;
        // A script that prints its credentials must not put them in the daemon's log, nor in the
        // error text; masked before the error text is cut from it.
        const said = { ...r, stdout: ctx.redact(r.stdout), stderr: ctx.redact(r.stderr) };
        if (said.stdout) ctx.log.info({ eventId, stdout: said.stdout }, "command output");
        if (said.stderr) ctx.log.warn({ eventId, stderr: said.stderr }, "command error output");
        if (r.leftovers)
          ctx.log.warn({ eventId }, "the command left processes running in its process group; they were ended (setsid keeps one)");
        // The attempt log keeps what the command said, output then error output.
        const kept = {
          ...(r.code === null ? {} : { exitCode: r.code }),
          response: [said.stdout, said.stderr].filter((t) => t).join(said.stdout.endsWith("\n") ? "" : "\n"),
        };
        if (!r.spawnError && !r.stopped && r.code === 0) {
          const delivered: DeliveryOutcome = { kind: "delivered", detail: "exit 0", ...kept };
          return input.answer ? { ...delivered, answer: answerOf(r.stdoutHead ?? "", input.answer.limit, ctx.redact) } : delivered;
        }
        return { kind: "retry", error: failure(said, command, ctx.timeoutMs), ...kept };
      },
    };
  },
});
