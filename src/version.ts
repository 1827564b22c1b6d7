import { readFileSync } from "node:fs";

/** The package version, read once from package.json (two levels up from dist/src or src). */
function readVersion(): string {
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "switchyard" && pkg.version) return pkg.version;
    } catch {}
  }
  return "unknown";
}

export const VERSION = readVersion();
