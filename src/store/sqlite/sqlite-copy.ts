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

/** Writes a copy of the open database beside `main`, to be put in its place by placeCopy. */
export function copyBeside(db: Database.Database, main: string): string {
  const temp = `${main}.rebuild-${process.pid}`;
  copyDatabase(db, temp);
  return temp;
}

/**
 * Puts the copy `temp` at `main`, which should be missing. Hard-linked into place, which fails
 * rather than overwrites if a file appeared there meanwhile: then the copy is kept as
 * `<main>.saved-<time>` instead, and that name returned.
 */
export function placeCopy(temp: string, main: string): { placed: true } | { placed: false; savedAs: string } {
  try {
    linkSync(temp, main);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const savedAs = `${main}.saved-${fileStamp()}`;
    renameSync(temp, savedAs);
    fsyncPath(dirname(main));
    return { placed: false, savedAs };
  }
  rmSync(temp, { force: true });
  fsyncPath(dirname(main));
  return { placed: true };
}
