import { dirname, resolve } from "node:path";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { Path } from "./interpolate.js";
import { placeOf } from "./interpolate.js";
import { loadConfigFile } from "./load.js";
import { type Config, STORE_DEFAULTS } from "./schema.js";
import { parseDuration } from "./units.js";

export type StoreSettings =
  | { type: "sqlite"; path: string; retentionMs: number }
  | { type: "redis"; url: string; prefix: string; retentionMs: number; allowVolatile: boolean };

/** The `store` section as the stores take it; `issue` hears of keys that belong to the other store type. */
export function storeSettings(section: Config["store"], dir: string, issue: (path: Path, message: string) => void): StoreSettings {
  const store = section ?? {};
  const retentionMs = parseDuration(store.retention ?? STORE_DEFAULTS.retention);
  if (store.type === "redis") {
    if (!store.url) issue(["store", "url"], "is required for a redis store");
    if (store.path) issue(["store", "path"], "is for the sqlite store; a redis store takes url");
    return {
      type: "redis",
      url: store.url ?? "",
      prefix: store.prefix ?? STORE_DEFAULTS.prefix,
      retentionMs,
      allowVolatile: store.allow_volatile ?? STORE_DEFAULTS.allow_volatile,
    };
  }
  if (store.url || store.prefix || store.allow_volatile !== undefined)
    issue(["store", store.url ? "url" : store.prefix ? "prefix" : "allow_volatile"], "is for the redis store; a sqlite store takes path");
  return { type: "sqlite", path: resolve(dir, store.path ?? STORE_DEFAULTS.path), retentionMs };
}

/**
 * The store settings of a config file, for the verbs that only read or replay the store
 * (`events`, `dlq`): the whole file is validated, but only the `store` section's ${VAR}s must
 * be set and nothing else is compiled, so they run without the routes' secrets, secret files
 * or commands (from a host that only has the store's credentials, or while a secret is unset).
 */
export function loadStoreSettings(file: string, env: NodeJS.ProcessEnv = process.env): { file: string; store: StoreSettings } {
  const loaded = loadConfigFile(file, env, "store");
  const issues: ConfigIssue[] = loaded.issues.filter((i) => i.severity === "error");
  if (issues.length > 0) throw new ConfigError(file, issues);
  const store = storeSettings(loaded.config.store, dirname(resolve(file)), (path, message) =>
    issues.push({ place: placeOf(path), message, line: loaded.lineOf(path), severity: "error" }),
  );
  if (issues.length > 0) throw new ConfigError(file, issues);
  return { file, store };
}
