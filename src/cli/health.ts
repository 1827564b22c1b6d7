import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { resolveAddresses } from "../config/addresses.js";
import { interpolateString } from "../config/interpolate.js";
import { UserError } from "../errors.js";
import { configPath, print } from "./common.js";

/** Docker's HEALTHCHECK gives a probe 5 s by default; answer before it gives up. */
const PROBE_TIMEOUT_MS = 4_000;

export interface HealthOptions {
  config?: string;
  url?: string;
}

/** `server.listen` and `server.admin` as the file writes them, from YAML that may be broken elsewhere. */
function serverAddresses(file: string, env: NodeJS.ProcessEnv): { listen?: string; admin?: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (use --url)`);
  }
  let server: unknown;
  try {
    // A YAML error elsewhere in the file leaves the server section readable more often than not.
    server = parseDocument(text).toJS()?.server;
  } catch {
    server = undefined;
  }
  const pick = (key: "listen" | "admin") => {
    const value = (server as Record<string, unknown> | null | undefined)?.[key];
    return typeof value === "string" ? interpolateString(value, env, () => {}) : undefined;
  };
  return { listen: pick("listen"), admin: pick("admin") };
}

/**
 * Where the running daemon answers /healthz: its admin address, else its listen address, as
 * `serve` resolves them (SWITCHYARD_ADMIN and SWITCHYARD_LISTEN win over the file). Only those
 * two keys are read, without validating the rest: an edit that breaks a route, or the YAML
 * elsewhere, does not stop the daemon (it keeps the last good config), so it must not fail the
 * probe; and a probe must answer within Docker's timeout however large the file is.
 */
export function healthUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const file = configPath(option, env);
  const { addresses } = resolveAddresses(serverAddresses(file, env), { env, file, lineOf: () => undefined });
  const { host, port } = addresses.admin ?? addresses.listen;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`cannot probe port ${port} from ${file}: not a fixed port (use --url)`);
  }
  // A wildcard address is reached on loopback from inside the same host or container.
  const target = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${target.includes(":") ? `[${target}]` : target}:${port}/healthz`;
}

/** `switchyard health`: exit 0 when the daemon's /healthz answers 200, else 1 with the reason. */
export async function health(options: HealthOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const url = options.url ?? env.SWITCHYARD_HEALTH_URL ?? healthUrl(options.config, env);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    if (res.status === 200) {
      print(`${url}: ok`);
      return 0;
    }
    process.stderr.write(`switchyard: ${url} answered ${res.status}\n`);
  } catch (err) {
    const cause = (err as Error & { cause?: NodeJS.ErrnoException }).cause;
    process.stderr.write(`switchyard: cannot reach ${url}: ${cause?.code ?? (err as Error).message}\n`);
  }
  return 1;
}
