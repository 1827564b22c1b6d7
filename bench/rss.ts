import { readFileSync } from "node:fs";

/** How often a server's memory is sampled: fast enough to see a burst, cheap enough not to matter. */
const SAMPLE_EVERY_MS = 100;

/** Reads a `Vm…: N kB` field of /proc/PID/status, in bytes; undefined once the process is gone. */
function statusField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
}

/** utime + stime of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the numbered fields start after its ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * Peak memory of one process: samples VmRSS and the kernel's own high-water mark VmHWM every
 * 100 ms (VmHWM also catches a peak between two samples). Linux only: elsewhere it reports 0.
 */
export class RssSampler {
  peakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  sample(): void {
    let text: string;
    try {
      text = readFileSync(`/proc/${this.pid}/status`, "utf8");
    } catch {
      return;
    }
    this.peakBytes = Math.max(this.peakBytes, statusField(text, "VmHWM") ?? 0, statusField(text, "VmRSS") ?? 0);
  }

  /** CPU seconds the process has used so far (user + system). */
  cpuSeconds(): number {
    return (cpuTicks(this.pid) ?? 0) / 100;
  }

  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peakBytes;
  }
}
