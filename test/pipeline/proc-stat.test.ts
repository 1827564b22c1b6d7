import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { isProcessAlive, procStat } from "../../src/pipeline/proc-stat.js";

/**
 * Liveness as lease recovery asks it: a process killed with -9 whose parent has not reaped it
 * (a container's PID 1 that never does) is a zombie, and a zombie is dead.
 */

async function until<T>(check: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function comm(pid: number | undefined): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

describe("isProcessAlive", () => {
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const p of started.splice(0)) p.kill("SIGKILL");
  });

  /** A parent that starts a child and then becomes `sleep`, which never reaps anything. */
  async function parentThatNeverReaps(): Promise<{ parent: ChildProcess; child: number }> {
    const parent = spawn("/bin/sh", ["-c", "sleep 1000 & echo $!; exec sleep 1000"], { stdio: ["ignore", "pipe", "ignore"] });
    started.push(parent);
    let out = "";
    parent.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    const child = await until(() => /^(\d+)\n/.exec(out)?.[1], "the child's pid");
    // Until sh has become sleep, sh itself would reap a child that dies.
    await until(() => comm(parent.pid) === "sleep", "the parent to become sleep");
    return { parent, child: Number(child) };
  }

  it("says a running process is alive, and so is this one", async () => {
    const { child } = await parentThatNeverReaps();
    expect(isProcessAlive(child)).toBe(true);
    expect(isProcessAlive(process.pid)).toBe(true);
  });

  it("says a zombie (killed with -9, not reaped by its parent) is dead", async () => {
    const { parent, child } = await parentThatNeverReaps();
    process.kill(child, "SIGKILL");
    await until(() => procStat(child)?.[0] === "Z", "the child to be a zombie");
    // Still there for kill(pid, 0), the check that took it for alive.
    expect(() => process.kill(child, 0)).not.toThrow();
    expect(procStat(child)?.[1]).toBe(String(parent.pid));
    expect(isProcessAlive(child)).toBe(false);
  });

  it("says a process that does not exist is dead", () => {
    // Above the largest pid_max Linux allows (2^22): never a process.
    expect(isProcessAlive(2 ** 22 + 1)).toBe(false);
  });
});
