import { fork } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../../../src/plugins/targets/exec/exec.js";
import { HelperClient } from "../../../../src/plugins/targets/exec/helper-client.js";
import type { DeliveryInput, Target } from "../../../../src/plugins/targets/target.js";
import { makeContext, makeEvent, never } from "../context.js";

let dir: string;

function script(name: string, body: string, shebang = "#!/bin/sh"): string {
  const path = join(dir, name);
  writeFileSync(path, `${shebang}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Writes its argv, env, stdin and cwd as JSON to the file named by its first argument. */
const RECORDER = `const fs = require("node:fs");
let stdin = "";
process.stdin.on("data", (d) => { stdin += d; });
process.stdin.on("end", () => {
  fs.writeFileSync(process.argv[2], JSON.stringify({ argv: process.argv.slice(3), env: process.env, stdin, cwd: process.cwd(), ppid: process.ppid }));
});`;

interface Recorded {
  argv: string[];
  env: Record<string, string>;
  stdin: string;
  cwd: string;
  ppid: number;
}

/** The mode's runner: the built helper process, or this process (set by each mode's beforeAll). */
let commands = new HelperClient(undefined);

function make(options: Record<string, unknown>, timeoutMs = 5_000) {
  const made = makeContext(dir, timeoutMs, { commands });
  const target: Target = exec.create({ name: "deploy", type: "exec", ...options } as never, made.ctx);
  return { target, lines: made.lines };
}

/** True while the process exists and is not a zombie (a container's PID 1 may not reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/** Running (not zombie) processes whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[2] === String(pgid) && fields[0] !== "Z";
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function eventually(check: () => boolean, ms = 2_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) if (check()) return true;
  return check();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-exec-"));
  script("record.cjs", RECORDER, `#!${process.execPath}`);
  mkdirSync(join(dir, "bin"));
  script("bin/hello.sh", 'pwd; echo "hello from bin"');
  script("fail.sh", 'echo "progress..."; echo "deploy failed: no space left on device" >&2; exit 3');
  script("quiet-fail.sh", 'echo "nothing on stderr"; exit 1');
  script("suicide.sh", "kill -9 $$");
  script("ignore-stdin.sh", "exit 0");
  script("report-and-sleep.sh", 'echo $PPID > "$1"; echo $$ > "$2"; exec sleep 1000');
  script(
    "loud.sh",
    `${process.execPath} -e 'process.stdout.write("o".repeat(1<<20)); process.stderr.write("e".repeat(1<<20) + "THE END")'; exit 1`,
  );
  // A background grandchild that would outlive a naive kill of the script alone.
  script("hang.sh", 'sleep 1000 &\necho $! > "$1"\nwait');
  script("stubborn.sh", "trap '' TERM\nsleep 1000 &\necho $! > \"$1\"\nwait");
  // Backgrounds a child in its own process group and exits without waiting for it.
  script("leave-behind.sh", 'echo $$ > "$1"\nsleep 120 &\necho $! > "$2"\nexit "$3"');
  // The pid is written from inside the new session, so the script exits only once it exists.
  script("leave-setsid.sh", 'setsid sh -c \'echo $$ > "$1"; exec sleep 120\' _ "$1" &\nwhile [ ! -s "$1" ]; do sleep 0.05; done\nexit 0');
  writeFileSync(join(dir, "not-executable.sh"), "#!/bin/sh\nexit 0\n");
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const hostile = {
  ref: "refs/heads/main",
  // Harmless on purpose: should a shell ever creep in, this payload must only leave marker files.
  title: `fix $(touch PWNED) ; touch PWNED2 \`touch PWNED3\` && echo "quoted" 'single' | cat\nsecond line > PWNED4`,
  repository: { full_name: "acme/app", tags: ["a b", "c"] },
  count: 3,
  draft: false,
};

/**
 * Every test runs twice: with commands started by the exec helper process, as the built daemon
 * does (the helper is the compiled one: `npm test` builds first), and in this process, as when
 * running from the sources.
 */
const BUILT_HELPER = resolve(import.meta.dirname, "../../../../dist/src/plugins/targets/exec/helper-main.js");
const modes = [
  ["through the exec helper process", BUILT_HELPER],
  ["in process", undefined],
] as const;

for (const [mode, helper] of modes)
  describe(`exec target, ${mode}`, () => {
    beforeAll(() => {
      if (helper !== undefined && !existsSync(helper)) throw new Error(`${helper} is missing: run npm run build first`);
      commands = new HelperClient(helper);
    });
    afterAll(() => commands.close());

    describe("exec target: what the command gets", () => {
      it("passes argv, env and stdin byte for byte, with no shell in between", async () => {
        process.env.SECRET_FOO = "do-not-leak";
        const out = join(dir, "argv.json");
        const { target } = make({
          command: ["./record.cjs", out, "--pull"],
          args: ["body.title", "body.repository", "body.count", "body.draft", "body.nothing", "body.repository.tags"],
          env: { GIT_REF: "body.ref", TITLE: "body.title", PATH_LIKE: '"$HOME;`id`"' },
        });
        const outcome = await target.deliver({ event: makeEvent(hostile) }, never);
        delete process.env.SECRET_FOO;
        expect(outcome).toMatchObject({ kind: "delivered", detail: "exit 0" });

        const got = JSON.parse(readFileSync(out, "utf8")) as Recorded;
        expect(got.argv).toEqual(["--pull", hostile.title, '{"full_name":"acme/app","tags":["a b","c"]}', "3", "false", "", '["a b","c"]']);
        for (const marker of ["PWNED", "PWNED2", "PWNED3", "PWNED4"]) expect(existsSync(join(dir, marker))).toBe(false);
        expect(got.env).toMatchObject({
          GIT_REF: "refs/heads/main",
          TITLE: hostile.title,
          PATH_LIKE: "$HOME;`id`",
          SWITCHYARD_EVENT_ID: "evt_01",
          SWITCHYARD_ROUTE: "github",
          SWITCHYARD_TARGET: "deploy",
        });
        expect(got.env.SECRET_FOO).toBeUndefined();
        const allowed = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME"];
        const own = ["GIT_REF", "TITLE", "PATH_LIKE", "SWITCHYARD_EVENT_ID", "SWITCHYARD_ROUTE", "SWITCHYARD_TARGET"];
        // The node binary may add nothing; the shell is not involved, so nothing else appears.
        expect(Object.keys(got.env).filter((k) => !own.includes(k) && !allowed.includes(k))).toEqual([]);
        expect(got.env.PATH).toBe(process.env.PATH);
        expect(got.stdin).toBe(`${JSON.stringify(makeEvent(hostile))}\n`);
        expect(got.cwd).toBe(dir);
        // Started by the helper process, or by this one.
        expect(got.ppid === process.pid).toBe(helper === undefined);
      });

      it("sends the transformed value on stdin when there is a transform", async () => {
        const out = join(dir, "transformed.json");
        const input: DeliveryInput = { event: makeEvent(hostile), transformed: { value: { repo: "acme/app", lines: "a\nb" } } };
        await make({ command: [join(dir, "record.cjs"), out] }).target.deliver(input, never);
        expect((JSON.parse(readFileSync(out, "utf8")) as Recorded).stdin).toBe('{"repo":"acme/app","lines":"a\\nb"}\n');
      });

      it("lets the target's env override an inherited variable", async () => {
        const out = join(dir, "env.json");
        await make({ command: ["./record.cjs", out], env: { LANG: '"C.UTF-8"' } }).target.deliver({ event: makeEvent({}) }, never);
        expect((JSON.parse(readFileSync(out, "utf8")) as Recorded).env.LANG).toBe("C.UTF-8");
      });

      it("resolves a relative command and cwd against the config folder, and logs stdout with the event id", async () => {
        const { target, lines } = make({ command: ["bin/hello.sh"], cwd: "bin" });
        expect(await target.deliver({ event: makeEvent({}) }, never)).toMatchObject({ kind: "delivered", detail: "exit 0" });
        expect(lines).toContainEqual(
          expect.objectContaining({ level: 30, eventId: "evt_01", stdout: `${join(dir, "bin")}\nhello from bin\n` }),
        );
      });

      it("finds a bare name on PATH", async () => {
        expect(await make({ command: ["true"] }).target.deliver({ event: makeEvent({}) }, never)).toMatchObject({
          kind: "delivered",
          detail: "exit 0",
        });
      });

      it("does not mind a command that never reads stdin", async () => {
        const big = { value: "x".repeat(4 * 1024 * 1024) };
        const o = await make({ command: ["./ignore-stdin.sh"] }).target.deliver({ event: makeEvent({}), transformed: big }, never);
        expect(o).toMatchObject({ kind: "delivered", detail: "exit 0" });
      });

      it("renders argv, its own env and stdin without running anything", async () => {
        const { target } = make({ command: ["./record.cjs", "--x"], args: ["body.ref"], env: { GIT_REF: "body.ref" } });
        expect(await target.render({ event: makeEvent({ ref: "main" }), transformed: { value: "hi" } })).toEqual({
          argv: [join(dir, "record.cjs"), "--x", "main"],
          env: { SWITCHYARD_EVENT_ID: "evt_01", SWITCHYARD_ROUTE: "github", SWITCHYARD_TARGET: "deploy", GIT_REF: "main" },
          stdin: '"hi"\n',
        });
      });
    });

    describe("exec target: its answer to a webhook (respond)", () => {
      it("hands back its whole stdout up to the limit, past the 16 KiB the log keeps, secrets masked", async () => {
        const cmd = script("answer.sh", "head -c 40000 /dev/zero | tr '\\0' a; printf ' token-123'");
        const made = makeContext(dir, 5_000, { commands, redact: (t) => t.replaceAll("token-123", "***") });
        const target = exec.create({ name: "reply", type: "exec", command: [cmd] } as never, made.ctx);
        const outcome = await target.deliver({ event: makeEvent({}), answer: { limit: 40_010 } }, never);
        expect(outcome).toMatchObject({ kind: "delivered", answer: { kind: "answer", headers: {} } });
        const answer = outcome.answer?.kind === "answer" ? outcome.answer.body.toString("utf8") : "";
        expect(answer).toBe(`${"a".repeat(40_000)} ***`);
        // Not asked for: nothing kept beyond the log's tail.
        expect((await target.deliver({ event: makeEvent({}) }, never)).answer).toBeUndefined();
      });

      it("says too_large for stdout one byte over the limit, and the delivery still succeeds", async () => {
        const cmd = script("answer-big.sh", "head -c 1025 /dev/zero | tr '\\0' a");
        const outcome = await make({ command: [cmd] }).target.deliver({ event: makeEvent({}), answer: { limit: 1024 } }, never);
        expect(outcome).toMatchObject({ kind: "delivered", answer: { kind: "too_large", limit: 1024 } });
        const exact = await make({ command: [cmd] }).target.deliver({ event: makeEvent({}), answer: { limit: 1025 } }, never);
        expect(exact.answer?.kind === "answer" && exact.answer.body.length).toBe(1025);
      });
    });

    describe("exec target: failures", () => {
      it("retries a non-zero exit with the end of stderr, and logs stderr as a warning", async () => {
        const { target, lines } = make({ command: ["./fail.sh"] });
        const o = await target.deliver({ event: makeEvent({}) }, never);
        expect(o).toEqual({
          kind: "retry",
          error: "exit 3: deploy failed: no space left on device",
          // For the attempt log: the exit code, and what the command said (output, then error output).
          exitCode: 3,
          response: "progress...\ndeploy failed: no space left on device\n",
        });
        expect(lines).toContainEqual(
          expect.objectContaining({ level: 40, eventId: "evt_01", stderr: "deploy failed: no space left on device\n" }),
        );
        expect(lines).toContainEqual(expect.objectContaining({ level: 30, stdout: "progress...\n" }));
      });

      it("falls back to stdout when stderr says nothing", async () => {
        expect(await make({ command: ["./quiet-fail.sh"] }).target.deliver({ event: makeEvent({}) }, never)).toMatchObject({
          kind: "retry",
          error: "exit 1: nothing on stderr",
        });
      });

      it("reports death by signal", async () => {
        expect(await make({ command: ["./suicide.sh"] }).target.deliver({ event: makeEvent({}) }, never)).toMatchObject({
          kind: "retry",
          error: "killed by SIGKILL",
        });
      });

      it("keeps only the last 16 KiB of each stream and a short tail in the error", async () => {
        const { target, lines } = make({ command: ["./loud.sh"] });
        const o = await target.deliver({ event: makeEvent({}) }, never);
        expect(o.kind).toBe("retry");
        expect(o.kind === "retry" && o.error).toMatch(/^exit 1: …e+THE END$/);
        expect(o.kind === "retry" && o.error.length).toBeLessThan(520);
        const stdout = lines.find((l) => l.stdout)?.stdout as string;
        const stderr = lines.find((l) => l.stderr)?.stderr as string;
        expect(stdout.startsWith("[…truncated] ")).toBe(true);
        expect(Buffer.byteLength(stdout)).toBeLessThanOrEqual(16 * 1024 + 20);
        expect(stderr.endsWith("THE END")).toBe(true);
        expect(Buffer.byteLength(stderr)).toBeLessThanOrEqual(16 * 1024 + 20);
      });

      it.each([
        [["/nonexistent/deploy.sh"], "command not found: /nonexistent/deploy.sh"],
        [["./missing.sh"], "command not found: {dir}/missing.sh"],
        [["switchyard-no-such-command"], "command not found on PATH: switchyard-no-such-command"],
        [["./not-executable.sh"], "command is not executable (permission denied): {dir}/not-executable.sh"],
      ])("%j cannot start: %s", async (command, error) => {
        expect(await make({ command }).target.deliver({ event: makeEvent({}) }, never)).toMatchObject({
          kind: "retry",
          error: error.replace("{dir}", dir),
        });
      });

      it("fails for good when an args expression cannot be evaluated", async () => {
        const o = await make({ command: ["true"], args: ['$error("no ref")'] }).target.deliver({ event: makeEvent({}) }, never);
        expect(o.kind).toBe("fail");
        expect(o.kind === "fail" && o.error).toMatch(/routes\[0\]\.targets\[0\]\.args\[0\]: no ref/);
      });

      it("fails for good when an argument would carry a NUL byte", async () => {
        const o = await make({ command: ["true"], args: ["body.s"] }).target.deliver({ event: makeEvent({ s: "a\u0000b" }) }, never);
        expect(o).toMatchObject({ kind: "fail", error: "an args or env value contains a NUL byte, which a command line cannot carry" });
      });

      it("refuses a cwd that is not a folder", () => {
        expect(() => make({ command: ["true"], cwd: "nope" })).toThrow(/cwd: .*nope is not a folder/);
      });
    });

    describe("exec target: stopping a command", () => {
      it("kills the whole process group on timeout", async () => {
        const pidFile = join(dir, "hang.pid");
        const started = Date.now();
        const o = await make({ command: ["./hang.sh", pidFile] }, 500).target.deliver({ event: makeEvent({}) }, never);
        expect(o).toMatchObject({ kind: "retry", error: "timed out after 500ms, process group killed" });
        expect(Date.now() - started).toBeLessThan(2_000);
        const grandchild = Number(readFileSync(pidFile, "utf8"));
        expect(grandchild).toBeGreaterThan(0);
        expect(await eventually(() => !alive(grandchild))).toBe(true);
      });

      it("follows SIGTERM with SIGKILL after 5 s when the group ignores it", async () => {
        const pidFile = join(dir, "stubborn.pid");
        const started = Date.now();
        const o = await make({ command: ["./stubborn.sh", pidFile] }, 300).target.deliver({ event: makeEvent({}) }, never);
        expect(o).toMatchObject({ kind: "retry", error: "timed out after 300ms, process group killed" });
        expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
        const grandchild = Number(readFileSync(pidFile, "utf8"));
        expect(await eventually(() => !alive(grandchild))).toBe(true);
      });

      it("kills the group when the signal aborts (shutdown)", async () => {
        const pidFile = join(dir, "abort.pid");
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 300);
        const o = await make({ command: ["./hang.sh", pidFile] }, 60_000).target.deliver({ event: makeEvent({}) }, ac.signal);
        expect(o).toMatchObject({ kind: "retry", error: "aborted: the daemon is shutting down, process group killed" });
        const grandchild = Number(readFileSync(pidFile, "utf8"));
        expect(await eventually(() => !alive(grandchild))).toBe(true);
      });

      for (const [exit, outcome] of [
        ["0", "delivered"],
        ["1", "retry"],
      ] as const)
        it(`ends what the command left running in its process group when it exits (exit ${exit})`, async () => {
          const leaderFile = join(dir, `leader-${exit}.pid`);
          const childFile = join(dir, `left-${exit}.pid`);
          const made = make({ command: ["./leave-behind.sh", leaderFile, childFile, exit] }, 60_000);
          const o = await made.target.deliver({ event: makeEvent({}) }, never);
          expect(o.kind).toBe(outcome);
          // Settled: nothing of the group runs any more, checked at once, not eventually.
          const leader = Number(readFileSync(leaderFile, "utf8"));
          const left = Number(readFileSync(childFile, "utf8"));
          expect(alive(left)).toBe(false);
          expect(groupMembers(leader)).toEqual([]);
          expect(made.lines.some((l) => String(l.msg).includes("left processes running in its process group"))).toBe(true);
        });

      it("leaves alone what the command started in a session of its own (setsid)", async () => {
        const pidFile = join(dir, "setsid.pid");
        // The other mode's run left its pid here: the script waits for the file to be written.
        rmSync(pidFile, { force: true });
        const o = await make({ command: ["./leave-setsid.sh", pidFile] }, 60_000).target.deliver({ event: makeEvent({}) }, never);
        expect(o).toMatchObject({ kind: "delivered", detail: "exit 0" });
        const pid = Number(readFileSync(pidFile, "utf8"));
        try {
          expect(alive(pid)).toBe(true);
        } finally {
          process.kill(pid, "SIGKILL");
        }
      });

      it("does not start at all when already aborted", async () => {
        const ac = new AbortController();
        ac.abort();
        const out = join(dir, "never.json");
        const o = await make({ command: ["./record.cjs", out] }).target.deliver({ event: makeEvent({}) }, ac.signal);
        expect(o).toMatchObject({ kind: "retry", error: "aborted: the daemon is shutting down" });
        expect(existsSync(out)).toBe(false);
      });

      it.skipIf(helper === undefined)(
        "stops its commands when the daemon is gone (its channel closes), then exits",
        async () => {
          const child = fork(helper ?? "", [], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
          const commandFile = join(dir, "orphan.pid");
          const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
          child.send({
            t: "run",
            id: 1,
            argv: [join(dir, "report-and-sleep.sh"), join(dir, "orphan-parent.pid"), commandFile],
            cwd: dir,
            env: { PATH: process.env.PATH ?? "" },
            stdin: "",
            timeoutMs: 60_000,
          });
          expect(await eventually(() => existsSync(commandFile) && readFileSync(commandFile, "utf8").endsWith("\n"), 20_000)).toBe(true);
          const commandPid = Number(readFileSync(commandFile, "utf8"));
          child.disconnect();
          // SIGTERM, or SIGKILL after the 5 s grace: a loaded machine (two test files at once) may take its time.
          expect(await eventually(() => !alive(commandPid), 20_000)).toBe(true);
          expect(await exited).toBe(0);
        },
        60_000,
      );

      it.skipIf(helper === undefined)(
        "kills the commands of a helper that dies, retries them, and starts a new helper",
        async () => {
          const parentFile = join(dir, "helper.pid");
          const commandFile = join(dir, "command.pid");
          const { target } = make({ command: ["./report-and-sleep.sh", parentFile, commandFile] });
          const outcome = target.deliver({ event: makeEvent({}) }, never);
          expect(await eventually(() => existsSync(commandFile) && readFileSync(commandFile, "utf8").endsWith("\n"), 20_000)).toBe(true);
          const helperPid = Number(readFileSync(parentFile, "utf8"));
          const commandPid = Number(readFileSync(commandFile, "utf8"));
          expect(helperPid).not.toBe(process.pid);
          process.kill(helperPid, "SIGKILL");
          const o = await outcome;
          expect(o.kind).toBe("retry");
          expect(o.kind === "retry" && o.error).toMatch(/exec helper process exited \(SIGKILL\)/);
          // SIGTERM, or SIGKILL after the 5 s grace: a loaded machine may take its time.
          expect(await eventually(() => !alive(commandPid), 20_000)).toBe(true);
          const again = join(dir, "again.json");
          expect(await make({ command: ["./record.cjs", again] }).target.deliver({ event: makeEvent({}) }, never)).toMatchObject({
            kind: "delivered",
            detail: "exit 0",
          });
        },
        60_000,
      );
    });
  });
