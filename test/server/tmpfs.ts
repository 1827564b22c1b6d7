import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A small tmpfs mounted for a test, to make a disk full for real: SQLite's own error paths, not
 * a mock. Needs root (or CAP_SYS_ADMIN); `mountTmpfs` returns the reason when it cannot mount,
 * and the tests that need it skip, saying so.
 */
export interface Tmpfs {
  dir: string;
  /** Fills every free byte with a filler file. */
  fill(): void;
  /** Deletes the filler: the disk has room again. */
  free(): void;
  /** Remounts read-only or read-write (read-only fails with EBUSY while a file is open for writing). */
  remount(mode: "ro" | "rw"): void;
  unmount(): void;
}

export function mountTmpfs(size = "2m"): Tmpfs | string {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(err as Error).message.split("\n")[0]}): run as root to test a full disk`;
  }
  const filler = join(dir, "filler");
  return {
    dir,
    fill() {
      const fd = openSync(filler, "a");
      try {
        // Big blocks first, then smaller ones, down to the last byte of the last page.
        for (let size = 64 * 1024; size >= 1; size = Math.floor(size / 2)) {
          const block = Buffer.alloc(size);
          try {
            for (;;) writeSync(fd, block);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    remount(mode) {
      execFileSync("mount", ["-o", `remount,${mode}`, dir], { stdio: "pipe" });
    },
    unmount() {
      try {
        execFileSync("umount", [dir], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `chattr +i` / `-i`: makes files immutable, so writes to them fail even for root. */
export function setImmutable(files: readonly string[], on: boolean): void {
  execFileSync("chattr", [on ? "+i" : "-i", ...files], { stdio: "pipe" });
}

/**
 * Whether `chattr +i` in `dir` stops writes through a file descriptor opened before (as SQLite's
 * are): ext4 and xfs check on every write, tmpfs only at open. The reason when it does not.
 */
export function immutableStopsOpenFiles(dir: string): string | undefined {
  const file = join(dir, "immutable-probe");
  const fd = openSync(file, "w");
  try {
    setImmutable([file], true);
  } catch (err) {
    closeSync(fd);
    rmSync(file, { force: true });
    return `chattr +i is not available or not permitted here (${(err as Error).message.split("\n")[0]})`;
  }
  try {
    writeSync(fd, "x");
    return `this filesystem lets open files be written after chattr +i`;
  } catch {
    return undefined;
  } finally {
    setImmutable([file], false);
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
