import { resolve } from "node:path";
import pino, { type Logger } from "pino";
import { type AddressOverrides, type CompiledConfig, type CompiledRoute, loadAndCompile } from "../config/compile.js";
import { loadStoreSettings } from "../config/store-settings.js";
import { UserError } from "../errors.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/store.js";

export const DEFAULT_CONFIG = "config/switchyard.yaml";

/** `-c FILE`, else SWITCHYARD_CONFIG, else config/switchyard.yaml. */
export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? env.SWITCHYARD_CONFIG ?? DEFAULT_CONFIG);
}

/** Commands other than `serve` keep stdout for their own output. */
export function quietLogger(): Logger {
  return pino({ level: "silent" });
}

export function loadForCli(option: string | undefined, overrides?: AddressOverrides): CompiledConfig {
  return loadAndCompile(configPath(option), { log: quietLogger(), overrides });
}

export function findRoute(config: CompiledConfig, name: string): CompiledRoute {
  const route = config.byName.get(name);
  if (!route) {
    const known = config.routes.map((r) => r.name).join(", ") || "none";
    throw new UserError(`no route named ${JSON.stringify(name)} in ${config.file} (routes: ${known})`);
  }
  return route;
}

/**
 * Opens the configured store from the CLI, alongside a running daemon if there is one. Only the
 * config's `store` section is needed (no route secrets), and the store must exist: the CLI never
 * creates one; `read` opens SQLite read-only.
 */
export async function withStore<T>(option: string | undefined, access: "read" | "write", fn: (store: Store) => Promise<T>): Promise<T> {
  const { store: settings } = loadStoreSettings(configPath(option));
  const store = await openStore(settings, access);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}
