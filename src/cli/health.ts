import { DEFAULT_LISTEN, parseAddress } from "../config/compile.js";
import { loadConfigFile } from "../config/load.js";
import { UserError } from "../errors.js";
import { configPath, print } from "./common.js";

/** Docker's HEALTHCHECK gives a probe 5 s by default; answer before it gives up. */
const PROBE_TIMEOUT_MS = 4_000;

export interface HealthOptions {
  config?: string;
  url?: string;
}

/**
 * Where the running daemon answers /healthz: the config's admin address, else its listen
 * address. Only the file's YAML and the `server` section matter here: an edit that breaks a
 * route does not stop the daemon (it keeps the last good config), so it must not fail the probe.
 */
export function healthUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const loaded = loadConfigFile(configPath(option, env), env);
  const server = loaded.config.server;
  const text = server?.admin || server?.listen || DEFAULT_LISTEN;
  const { host, port } = parseAddress(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`cannot probe ${text} from ${loaded.file}: not a host:port with a fixed port (use --url)`);
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
