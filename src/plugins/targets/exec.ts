import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { Type } from "@sinclair/typebox";
import { formatDelay } from "../../pipeline/backoff.js";
import type { Expression } from "../../pipeline/expression.js";
import { type DeliveryInput, type DeliveryOutcome, defineTarget } from "./target.js";

/** The daemon's variables a command inherits; everything else (tokens, secrets) stays out of the child. */
const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME"] as const;
/** Output kept per stream: the end of a log is where the error is. */
const MAX_OUTPUT_BYTES = 16 * 1024;
const ERROR_TAIL_CHARS = 500;
/** Time between SIGTERM and SIGKILL: long enough for a script's `trap` to clean up. */
const KILL_GRACE_MS = 5_000;
/** After the command exits, how long its pipes may take to deliver the last output. */
const OUTPUT_SETTLE_MS = 250;

/** A JSONata result as one argv/env string: JSON for structures, "" for nothing. */
function stringify(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "";
}

/** Keeps the last MAX_OUTPUT_BYTES of a stream, and whether anything before them was dropped. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= MAX_OUTPUT_BYTES) {
      this.size -= this.chunks.shift()?.length ?? 0;
      this.truncated = true;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length > MAX_OUTPUT_BYTES) this.truncated = true;
    return (this.truncated ? "[…truncated] " : "") + all.subarray(Math.max(0, all.length - MAX_OUTPUT_BYTES)).toString("utf8");
  }
}

/** Signals the whole process group (`detached` made the child its leader): a script's children die with it. */
function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

function tailOf(text: string): string {
  const t = text.trim();
  return t.length > ERROR_TAIL_CHARS ? `…${t.slice(-ERROR_TAIL_CHARS)}` : t;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: NodeJS.ErrnoException;
  stopped?: "timeout" | "shutdown";
  stdout: string;
  stderr: string;
}

/** Runs argv without a shell, feeds stdin, waits for the exit; on timeout or abort kills the group. */
function run(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdin: string; timeoutMs: number; signal: AbortSignal }) {
  return new Promise<RunResult>((done) => {
    const [command = "", ...args] = argv;
    const out = new Tail();
    const err = new Tail();
    let stopped: RunResult["stopped"];
    let child: ChildProcess;
    let finished = false;
    const finish = (r: Pick<RunResult, "code" | "signal" | "spawnError">) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      done({ ...r, stopped, stdout: out.text(), stderr: err.text() });
    };
    const stop = (why: "timeout" | "shutdown") => {
      if (stopped || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopped = why;
      const pid = child.pid;
      killGroup(pid, "SIGTERM");
      // Not unref'd: on shutdown the daemon should wait the grace out rather than leave survivors.
      setTimeout(() => killGroup(pid, 0) && killGroup(pid, "SIGKILL"), KILL_GRACE_MS);
    };
    const onAbort = () => stop("shutdown");
    const timer = setTimeout(() => stop("timeout"), opts.timeoutMs);
    try {
      // shell: false, always: argv elements reach the command byte for byte, `$(…)` and `;` included.
      child = spawn(command, args, { cwd: opts.cwd, env: opts.env, shell: false, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      // spawn throws (rather than emitting "error") on arguments it refuses outright.
      clearTimeout(timer);
      return done({ code: null, signal: null, spawnError: e as NodeJS.ErrnoException, stdout: "", stderr: "" });
    }
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    // A command that does not read stdin closes it: EPIPE here is normal, not a failure.
    child.stdin?.on("error", () => {});
    child.stdin?.end(opts.stdin);
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish({ code: null, signal: null, spawnError: e });
    });
    child.once("exit", (code, sig) => {
      // A background grandchild may hold the pipes open for ever: give them a moment, not more.
      const settle = setTimeout(() => finish({ code, signal: sig }), OUTPUT_SETTLE_MS);
      child.once("close", () => {
        clearTimeout(settle);
        finish({ code, signal: sig });
      });
    });
    opts.signal.addEventListener("abort", onAbort, { once: true });
    if (opts.signal.aborted) onAbort();
  });
}

/** Why a run did not deliver, as the error text stored with the retry. */
function failure(r: RunResult, command: string, timeoutMs: number): string {
  if (r.spawnError) {
    const e = r.spawnError;
    if (e.code === "ENOENT") return command.includes("/") ? `command not found: ${command}` : `command not found on PATH: ${command}`;
    if (e.code === "EACCES") return `command is not executable (permission denied): ${command}`;
    return `cannot run ${command}: ${e.code ?? e.message}`;
  }
  if (r.stopped === "timeout") return `timed out after ${formatDelay(timeoutMs)}, process group killed`;
  if (r.stopped === "shutdown") return "aborted: the daemon is shutting down, process group killed";
  // Scripts often print their complaint on stdout; use it when stderr is silent.
  const said = tailOf(r.stderr) || tailOf(r.stdout);
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return said ? `${how}: ${said}` : how;
}

export const exec = defineTarget({
  type: "exec",
  description:
    "Runs a command (never through a shell) with the event as JSON on stdin. Exit 0 is delivered; " +
    "any other exit, a signal, a timeout or a command that cannot start is retried.",
  defaultTimeoutMs: 300_000,
  defaultConcurrency: 1,
  properties: {
    command: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "argv: the program and its fixed arguments. An absolute path is used as is, a path with a slash " +
        "(./deploy.sh) is relative to the config file's folder, a bare name is looked up on PATH.",
    }),
    args: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'JSONata expressions over the event, each appended to argv as one string (objects as JSON, nothing as "").',
      }),
    ),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String({ minLength: 1 }), {
        additionalProperties: false,
        description:
          "Environment variables: name -> JSONata expression over the event. The command otherwise gets only PATH, HOME, " +
          "LANG, LC_ALL, LC_CTYPE, TZ, TMPDIR, USER, LOGNAME and SWITCHYARD_EVENT_ID, SWITCHYARD_ROUTE, SWITCHYARD_TARGET.",
      }),
    ),
    cwd: Type.Optional(
      Type.String({ minLength: 1, description: "Working directory, relative to the config file's folder (default: that folder)." }),
    ),
    coalesce: Type.Optional(
      Type.Boolean({
        description:
          "Events that pile up while a run is in progress collapse into one run with the newest event " +
          "(default false: every event gets its own run). For deploys, where only the latest state matters.",
      }),
    ),
  },
  create(o, ctx) {
    const [program = "", ...fixedArgs] = o.command;
    // Bare names stay bare: spawn searches the child's PATH for them.
    const command = isAbsolute(program) || !program.includes("/") ? program : resolve(ctx.configDir, program);
    const cwd = o.cwd === undefined ? ctx.configDir : resolve(ctx.configDir, o.cwd);
    if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`cwd: ${cwd} is not a folder`);
    const args: Expression[] = (o.args ?? []).map((source, i) => ctx.compile(source, `args[${i}]`));
    const env: [string, Expression][] = Object.entries(o.env ?? {}).map(([name, source]) => [name, ctx.compile(source, `env.${name}`)]);

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
      return { argv, env: own, stdin: json === undefined ? "" : `${json}\n` };
    };

    return {
      render: prepare,

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
        const r = await run(prepared.argv, {
          cwd,
          env: { ...inherited, ...prepared.env },
          stdin: prepared.stdin,
          timeoutMs: ctx.timeoutMs,
          signal,
        });
        const eventId = input.event.id;
        // A script that prints its credentials must not put them in the daemon's log.
        if (r.stdout) ctx.log.info({ eventId, stdout: ctx.redact(r.stdout) }, "command output");
        if (r.stderr) ctx.log.warn({ eventId, stderr: ctx.redact(r.stderr) }, "command error output");
        if (!r.spawnError && !r.stopped && r.code === 0) return { kind: "delivered", detail: "exit 0" };
        return { kind: "retry", error: failure(r, command, ctx.timeoutMs) };
      },
    };
  },
});
