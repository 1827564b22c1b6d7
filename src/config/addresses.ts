import type { ConfigIssue } from "../errors.js";
import type { Path } from "./interpolate.js";

/**
 * The two listener addresses, `server.listen` and `server.admin`, as the daemon will bind them:
 * the file's values unless `--listen`/`--admin` or SWITCHYARD_LISTEN/SWITCHYARD_ADMIN say
 * otherwise (flag > environment > file), checked together, and each with a note of where it
 * came from so that a failure to bind can point at the line to change.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`. The schema and the flags/variables share it. */
export const ADDRESS_PATTERN = "^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$";
export const DEFAULT_LISTEN = "127.0.0.1:8080";

/** Values given outside the file: `serve --listen/--admin`. */
export interface AddressOverrides {
  listen?: string;
  admin?: string;
}

export interface ResolvedAddresses {
  listen: ListenAddress;
  admin?: ListenAddress;
  /** Where each came from, for errors: `server.listen in /etc/switchyard.yaml:3`, `--admin`, … */
  listenFrom: string;
  adminFrom?: string;
}

export function parseAddress(text: string): ListenAddress {
  const i = text.lastIndexOf(":");
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(text.slice(i + 1)) };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const WILDCARDS: ReadonlySet<string> = new Set(["0.0.0.0", "::", ""]);

/**
 * True when binding both would collide: the same port (not 0, which picks a free one) on the
 * same host, or on any host when one of them is a wildcard (0.0.0.0 and :: take the port on
 * every address). `localhost` counts as loopback.
 */
export function sameSocket(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  if (a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host)) return true;
  return (a.host === "localhost" && isLoopback(b.host)) || (b.host === "localhost" && isLoopback(a.host));
}

interface Given {
  text: string;
  /** Set when the value is the file's: its place, for the issue's line. */
  path?: Path;
  /** How an error names it when it is not the file's: `--listen`, `SWITCHYARD_LISTEN`. */
  via?: string;
}

function pick(key: "listen" | "admin", flag: string | undefined, env: NodeJS.ProcessEnv, file: string | undefined): Given | undefined {
  const variable = `SWITCHYARD_${key.toUpperCase()}`;
  if (flag !== undefined) return { text: flag, via: `--${key}` };
  if (env[variable]) return { text: env[variable], via: variable };
  if (file !== undefined) return { text: file, path: ["server", key] };
  return undefined;
}

export function resolveAddresses(
  server: { listen?: string; admin?: string },
  opts: { env: NodeJS.ProcessEnv; overrides?: AddressOverrides; file: string; lineOf(path: Path): number | undefined },
): { addresses: ResolvedAddresses; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const issue = (key: "listen" | "admin", given: Given | undefined, message: string) => {
    const path = given?.path ?? ["server", key];
    const line = given?.via ? undefined : opts.lineOf(path);
    issues.push({ place: `server.${key}`, message: given?.via ? `(from ${given.via}) ${message}` : message, line, severity: "error" });
  };
  const origin = (key: "listen" | "admin", given: Given | undefined): string => {
    if (given?.via) return given.via;
    if (given?.path) {
      const line = opts.lineOf(given.path);
      return `server.${key} in ${opts.file}${line ? `:${line}` : ""}`;
    }
    return `the default server.${key}; set it in ${opts.file} or with --${key}`;
  };
  const read = (key: "listen" | "admin", given: Given | undefined): ListenAddress | undefined => {
    if (!given) return undefined;
    // The file's values were checked by the schema; a flag's or a variable's are checked here.
    if (given.via && !new RegExp(ADDRESS_PATTERN).test(given.text)) {
      issue(key, given, `${JSON.stringify(given.text)} is not an address: write host:port, e.g. 0.0.0.0:8080 or [::1]:8080`);
      return undefined;
    }
    const address = parseAddress(given.text);
    if (address.port > 65535) {
      issue(key, given, `port ${address.port} is out of range`);
      return undefined;
    }
    return address;
  };

  const listenGiven = pick("listen", opts.overrides?.listen, opts.env, server.listen);
  const adminGiven = pick("admin", opts.overrides?.admin, opts.env, server.admin);
  const listen = read("listen", listenGiven) ?? parseAddress(DEFAULT_LISTEN);
  const admin = read("admin", adminGiven);
  if (!adminGiven && !isLoopback(listen.host)) {
    issues.push({
      place: "server",
      message: `admin is required when listen is not loopback (otherwise /metrics would be served to the internet): listen is ${formatAddress(listen)}`,
      line: opts.lineOf(["server"]),
      severity: "error",
    });
  }
  if (admin && sameSocket(listen, admin)) {
    issue(
      "admin",
      adminGiven,
      `${formatAddress(admin)} takes the port of server.listen (${formatAddress(listen)}): give admin a port of its own, or leave it out (allowed when listen is loopback) to serve /metrics on listen`,
    );
  }
  return {
    addresses: {
      listen,
      admin,
      listenFrom: origin("listen", listenGiven),
      adminFrom: admin ? origin("admin", adminGiven) : undefined,
    },
    issues,
  };
}
