import { accessSync, constants, rmSync, statSync } from "node:fs";

/**
 * Whether the files a SQLite connection holds open are still the ones at their paths. An open
 * descriptor keeps "working" after its file is unlinked or renamed over: commits succeed and
 * fsync succeeds, but they land in an inode that nothing names, which the next restart never
 * sees. So an acknowledgement must rest on the path still naming the inode that was written.
 * One `stat` per file: cheap enough to run after every fsync (not every request), which is what
 * lets the store promise that no 202 was given for an event in an unlinked file.
 */

/** A file's identity: the inode on its device. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** What is wrong with the store's files, if anything. */
export type FileProblem =
  /** Nothing at the database's path: the open inode is the only copy. */
  | { kind: "removed"; file: string }
  /** Another file at the database's path (restored from a backup, or created anew). */
  | { kind: "replaced"; file: string }
  /** The -wal or -shm file was removed or replaced; the database file itself is in place. */
  | { kind: "sidecar"; file: string }
  /** The database file cannot be written (read-only, immutable, on a read-only mount). */
  | { kind: "readonly"; file: string; reason: string };

/** The database file and the WAL and shared-memory files SQLite keeps beside it. */
export interface StoreFiles {
  main: string;
  wal: string;
  shm: string;
}

export function storeFilesOf(main: string): StoreFiles {
  return { main, wal: `${main}-wal`, shm: `${main}-shm` };
}

/** The identity of the file at `path`, or undefined when there is none. */
export function identityOf(path: string): FileIdentity | undefined {
  const s = statSync(path, { throwIfNoEntry: false });
  return s ? { dev: s.dev, ino: s.ino } : undefined;
}

function same(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

export interface OpenedFiles {
  main: FileIdentity;
  wal: FileIdentity | undefined;
  shm: FileIdentity | undefined;
}

/** The identities of the files just opened (the WAL and shm exist once a WAL connection has read). */
export function openedFiles(files: StoreFiles): OpenedFiles | undefined {
  const main = identityOf(files.main);
  return main ? { main, wal: identityOf(files.wal), shm: identityOf(files.shm) } : undefined;
}

/** Checks the paths against the files the connection opened; undefined when all is well. */
export function fileProblem(files: StoreFiles, opened: OpenedFiles): FileProblem | undefined {
  const main = identityOf(files.main);
  if (main === undefined) return { kind: "removed", file: files.main };
  if (!same(main, opened.main)) return { kind: "replaced", file: files.main };
  try {
    // access(2), not the mode bits: it also says no for an immutable file and a read-only mount.
    accessSync(files.main, constants.W_OK);
  } catch (err) {
    return { kind: "readonly", file: files.main, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  if (opened.wal && !same(identityOf(files.wal), opened.wal)) return { kind: "sidecar", file: files.wal };
  if (opened.shm && !same(identityOf(files.shm), opened.shm)) return { kind: "sidecar", file: files.shm };
  return undefined;
}

/**
 * After closing a connection whose database file was unlinked (removed or replaced): SQLite
 * skips the checkpoint then, and leaves its -wal and -shm at their paths, where they would be
 * read as the WAL of whatever file is put at the path next, and corrupt it. Removes them if they
 * are still the closed connection's own.
 */
export function removeStaleSidecars(files: StoreFiles, opened: OpenedFiles): void {
  if (same(identityOf(files.main), opened.main)) return;
  if (opened.wal && same(identityOf(files.wal), opened.wal)) rmSync(files.wal, { force: true });
  if (opened.shm && same(identityOf(files.shm), opened.shm)) rmSync(files.shm, { force: true });
}

/** The log's plain words for a problem: what happened and what the daemon does about it. */
export function describeProblem(p: FileProblem): string {
  switch (p.kind) {
    case "removed":
      return `store file ${p.file} was removed; refusing webhooks (503) while it is rebuilt from the database the daemon still holds open`;
    case "replaced":
      return `store file ${p.file} was replaced by another file; refusing webhooks (503) while the daemon saves what it held and switches to the new file`;
    case "sidecar":
      return `store file ${p.file} was removed or replaced; refusing webhooks (503) while the store is written back to its database file and reopened`;
    case "readonly":
      return `store file ${p.file} cannot be written (${p.reason}); refusing webhooks (503) until it is writable again`;
  }
}
