import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  cpuModel: string;
  /** Logical CPUs this process may use (what a container's CPU limit leaves). */
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  loadTool: { name: string; version: string };
  webhook?: string;
  /** The 1-minute load average when the bench started: anything well above 0 means a noisy neighbour. */
  loadAverageAtStart: number;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

/** What was measured: the commit, and whether src/ had changes not committed yet (read-only git). */
export interface Source {
  commit: string;
  uncommittedSrcFiles: number;
}

export function describeSource(repo: string): Source {
  const git = (...args: string[]) => spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  const status = git("status", "--porcelain", "--", "src");
  return {
    commit: head.status === 0 ? head.stdout.trim() : "unknown",
    uncommittedSrcFiles: status.status === 0 ? status.stdout.split("\n").filter(Boolean).length : 0,
  };
}

export function describeMachine(loadTool: { name: string; version: string }, webhook?: string): Machine {
  const cpuinfo = readOr("/proc/cpuinfo", "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  const osRelease = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readOr("/etc/os-release", ""))?.[1] ?? process.platform;
  return {
    cpuModel: model,
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osRelease,
    kernel: release(),
    node: process.version,
    loadTool,
    ...(webhook ? { webhook } : {}),
    loadAverageAtStart: loadavg()[0] ?? 0,
  };
}
