/**
 * The closed set of faults Switchyard raises. Expected outcomes (a bad signature, a filter
 * that says no, a target answering 503) are values, not errors; these are for the rest.
 * Each class carries a literal `code` so callers switch on it instead of on messages.
 */

/** One problem in a config file, located by its place (`routes[1].verify.type`) and line. */
export interface ConfigIssue {
  /** Dotted place in the config, e.g. `routes[1].verify.type`; "" for the whole file. */
  place: string;
  message: string;
  /** 1-based line in the YAML file, when known. */
  line?: number;
  /** "warning" issues do not stop a load; "error" ones do. */
  severity: "error" | "warning";
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line ? `${file}:${issue.line}` : file;
  const place = issue.place ? ` ${issue.place}:` : "";
  return `${where}:${place} ${issue.message}`;
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID" as const;
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `${file}: ${issues.length} config error${issues.length === 1 ? "" : "s"}\n` +
        issues.map((i) => `  ${formatIssue(file, i)}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** The store cannot take or give events right now (disk full, Redis down, closed). */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE" as const;
  /**
   * The store has already logged this fault in its own words (a SQLite file removed or
   * read-only): whoever reports outages stays silent about it, so one outage is one line.
   */
  readonly explained: boolean;
  /**
   * What is wrong when the store is reachable but refuses on purpose, in a few words for the
   * outage line ("would lose queued events (appendonly is no)"); undefined for a plain fault.
   */
  readonly condition: string | undefined;
  constructor(message: string, options?: { cause?: unknown; explained?: boolean; condition?: string }) {
    super(message, options);
    this.name = "StoreUnavailableError";
    this.explained = options?.explained ?? false;
    this.condition = options?.condition;
  }
}

/** A JSONata expression failed to evaluate (runtime error or timeout). */
export class ExpressionError extends Error {
  readonly code = "EXPRESSION_FAILED" as const;
  constructor(
    readonly where: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${where}: ${message}`, options);
    this.name = "ExpressionError";
  }
}

/** A CLI caller asked for something that does not exist (unknown route, unknown id). */
export class UserError extends Error {
  readonly code = "USER_ERROR" as const;
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * A listener could not be bound at start (address in use, permission denied, not an address of
 * this host). The message names the address and where it was set, e.g.
 * `cannot listen on 0.0.0.0:8080: address in use (server.listen in /etc/switchyard.yaml:2)`.
 */
export class ListenError extends Error {
  readonly code = "LISTEN_FAILED" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ListenError";
  }
}

export type SwitchyardError = ConfigError | StoreUnavailableError | ExpressionError | UserError | ListenError;
