import type { Path } from "./interpolate.js";

/**
 * A config's `lineOf` as plain data, so that a config loaded on another thread keeps its line
 * numbers: the line of every place that exists in the file (taken from the YAML document
 * there), and for a place that does not, its nearest existing parent's, as `lineOf` answers.
 */
export type LineTable = [path: (string | number)[], line: number][];

/** Every place of `raw` (the document as parsed) with its line. */
export function lineTableOf(raw: unknown, lineOf: (path: Path) => number | undefined): LineTable {
  const out: LineTable = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    if (path.length > 0) {
      const line = lineOf(path);
      if (line !== undefined) out.push([path, line]);
    }
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i]);
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    }
  };
  walk(raw, []);
  return out;
}

export class LineIndex {
  private readonly lines = new Map<string, number>();

  add(table: LineTable): void {
    for (const [path, line] of table) this.lines.set(JSON.stringify(path), line);
  }

  readonly lineOf = (path: Path): number | undefined => {
    for (let n = path.length; n > 0; n--) {
      const line = this.lines.get(JSON.stringify(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return undefined;
  };
}
