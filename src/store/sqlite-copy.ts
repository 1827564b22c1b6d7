import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";

/**
 * Copies of an open database, for when its file is gone from its path: the open connection still
 * reads the unlinked inode, WAL included, so what was acknowledged can be written out again.
 */

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A timestamp fit for a file name: 2026-12-01T20-15-03Z. */
export function fileStamp(now = new Date()): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
}

/**
 * Writes a consistent copy of `db` to the new file `to` (VACUUM INTO: one read transaction, so
 * commits made meanwhile are either in it or not) and makes it durable, folder entry included.
 */
export function copyDatabase(db: Database.Database, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  rmSync(to, { force: true });
  try {
    db.prepare("VACUUM INTO ?").run(to);
    fsyncPath(to);
    fsyncPath(dirname(to));
  } catch (err) {
    rmSync(to, { force: true });
    throw err;
  }
}

export type RebuildResult = { rebuilt: true } | { rebuilt: false; savedAs: string };

/**
 * Puts a copy of the open database back at `main`, which must be missing. The copy is written
 * beside it and then hard-linked into place, which fails rather than overwrites if a file
 * appeared there meanwhile: then the copy is kept as `<main>.saved-<time>` instead.
 */
export function rebuildFile(db: Database.Database, main: string): RebuildResult {
  const temp = `${main}.rebuild-${process.pid}`;
  copyDatabase(db, temp);
  try {
    linkSync(temp, main);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      rmSync(temp, { force: true });
      throw err;
    }
    const savedAs = `${main}.saved-${fileStamp()}`;
    renameSync(temp, savedAs);
    fsyncPath(dirname(main));
    return { rebuilt: false, savedAs };
  }
  rmSync(temp, { force: true });
  fsyncPath(dirname(main));
  return { rebuilt: true };
}
