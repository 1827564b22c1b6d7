import { lstat, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Exec `files` folders are named after the daemon that made them (`switchyard-files-<pid>-XXXXXX`),
 * so that the next start can remove what a daemon killed mid-run (kill -9, OOM, power loss) left
 * in the temporary folder, payloads included, without touching a folder another live daemon on
 * the same machine is using.
 */
export const TEMP_FOLDER_PREFIX = "switchyard-files-";

const OWN_FOLDER = /^switchyard-files-([0-9]+)-[A-Za-z0-9]{6}$/;

/** Whether a process with that id exists (EPERM: it does, as another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the exec files folders in `dir` that this user owns and whose daemon is no longer
 * running; returns how many. A folder it cannot read or remove is left as it is.
 */
export async function sweepTempFolders(dir: string = tmpdir(), alive: (pid: number) => boolean = running): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of names) {
    const pid = Number(OWN_FOLDER.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || alive(pid)) continue;
    try {
      const st = await lstat(join(dir, name));
      // Not a symlink planted to point elsewhere, and nothing of another user's.
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // Gone meanwhile, or not ours to remove: the next start tries again.
    }
  }
  return removed;
}
