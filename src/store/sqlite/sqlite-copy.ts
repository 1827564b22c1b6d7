import { randomBytes } from "node:crypto";
import { closeSync, constants, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
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

/** The file-system calls that put a copy in place; a test swaps them to inject a fault. */
export interface PlaceFs {
  /** Hard-links `existing` at `newPath` (default fs.linkSync). */
  link(existing: string, newPath: string): void;
  /** fsyncs a folder, so a new entry in it survives a crash. */
  syncFolder(dir: string): void;
}

export const REAL_PLACE_FS: PlaceFs = { link: linkSync, syncFolder: fsyncPath };

/** A timestamp fit for a file name: 2026-12-01T20-15-03Z. */
export function fileStamp(now = new Date()): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
}

/**
 * A new name beside `main` for a copy of it, `<main>.<kind>-<time>-<random>`: unique, so a second
 * fault never writes over a copy an earlier one left (it may hold the only record of an event).
 */
export function copyName(main: string, kind: "rebuild" | "saved"): string {
  return `${main}.${kind}-${fileStamp()}-${randomBytes(3).toString("hex")}`;
}

/**
 * Writes a consistent copy of `db` to the new file `to` (VACUUM INTO: one read transaction, so
 * commits made meanwhile are either in it or not) and makes it durable, folder entry included.
 * Refuses a `to` that exists: it is never written over.
 */
export function copyDatabase(db: Database.Database, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  if (existsSync(to)) throw new Error(`cannot copy the store to ${to}: a file of that name exists`);
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
  const temp = copyName(main, "rebuild");
  copyDatabase(db, temp);
  return temp;
}

/**
 * The copy is at its place, but its folder could not be synced: a crash of the machine before
 * the next sync could still lose the entry. The copy it came from is already gone.
 */
export class CopyPlacedUnsyncedError extends Error {
  constructor(
    readonly main: string,
    options: { cause: unknown },
  ) {
    super(`the copy is back at ${main}, but syncing its folder failed: ${(options.cause as Error).message}`, options);
    this.name = "CopyPlacedUnsyncedError";
  }
}

/** Links `temp` at `main`; where hard links are not allowed (EPERM, ENOTSUP), copies it there. Never overwrites. */
function putAt(temp: string, main: string, fs: PlaceFs): void {
  try {
    fs.link(temp, main);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP") throw err;
    // Some file systems (FAT, some FUSE and network mounts) have no hard links.
    try {
      copyFileSync(temp, main, constants.COPYFILE_EXCL);
      fsyncPath(main);
    } catch (copyErr) {
      // A partial copy must not stay at the path, where it would be opened as the store.
      if ((copyErr as NodeJS.ErrnoException).code !== "EEXIST") rmSync(main, { force: true });
      throw copyErr;
    }
  }
}

/**
 * Puts the copy `temp` at `main`, which should be missing. Hard-linked (or copied) into place,
 * which fails rather than overwrites if a file appeared there meanwhile: then the copy is kept
 * as `<main>.saved-<time>-<random>` instead, and that name returned. Throws with `temp` intact
 * when it cannot be put anywhere; throws CopyPlacedUnsyncedError once it is in place.
 */
export function placeCopy(temp: string, main: string, fs: PlaceFs = REAL_PLACE_FS): { placed: true } | { placed: false; savedAs: string } {
  try {
    putAt(temp, main, fs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const savedAs = copyName(main, "saved");
    renameSync(temp, savedAs);
    fs.syncFolder(dirname(main));
    return { placed: false, savedAs };
  }
  try {
    rmSync(temp, { force: true });
    fs.syncFolder(dirname(main));
  } catch (err) {
    throw new CopyPlacedUnsyncedError(main, { cause: err });
  }
  return { placed: true };
}
