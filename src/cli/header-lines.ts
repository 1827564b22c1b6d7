import { UserError } from "../errors.js";

/**
 * Request headers as a user writes them (`-H 'Name: value'`), merged case-insensitively: a later
 * header replaces an earlier one of the same name and keeps the spelling it was given.
 */
export class HeaderLines {
  private readonly byName = new Map<string, [name: string, value: string]>();

  /** Parses `Name: value` lines; a usage error names the line that is not one. */
  static parse(lines: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(":");
      const name = line.slice(0, i).trim();
      if (i <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UserError(`-H takes 'Name: value', got ${JSON.stringify(line)}`);
      out[name] = line.slice(i + 1).trim();
    }
    return out;
  }

  set(headers: Readonly<Record<string, string>>): this {
    for (const [name, value] of Object.entries(headers)) this.byName.set(name.toLowerCase(), [name, value]);
    return this;
  }

  /** As the request will carry them, in the order first set. */
  entries(): [string, string][] {
    return [...this.byName.values()];
  }

  /** Lower-cased names, as verifiers see a request's headers. */
  lowerCased(): Record<string, string> {
    return Object.fromEntries([...this.byName].map(([lower, [, value]]) => [lower, value]));
  }
}
