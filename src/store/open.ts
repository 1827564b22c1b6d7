import type { Logger } from "pino";
import type { StoreSettings } from "../config/compile.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** A daemon's watch over its store's data: where to log what it finds, and a hook for a metric. */
export interface StoreWatch {
  log: Logger;
  /** Redis came back without the data the daemon saw there. */
  onDataLost?: () => void;
}

/**
 * Who opens the store: the daemon (with its watch), which creates it, or a CLI verb on a store
 * the daemon made, that only reads it (`events`, `dlq list`) or also writes to it (`dlq replay`).
 * The CLI never creates a store file, and a reading verb opens SQLite read-only.
 */
export type StoreAccess = "write" | "read";

/** The store a config asks for: for the daemon without `access`, for a CLI verb with it. */
export async function openStore(settings: StoreSettings, opener?: StoreWatch | StoreAccess): Promise<Store> {
  const access = typeof opener === "string" ? opener : undefined;
  const watch = typeof opener === "object" ? opener : undefined;
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path, { readonly: access === "read", existing: access === "write", log: watch?.log });
    case "redis": {
      // Loaded only when asked for: ioredis and BullMQ cost a SQLite daemon 25-30 MiB of memory
      // and a tenth of a second of start-up.
      const { RedisStore } = await import("./redis/redis-store.js");
      return RedisStore.open(settings, watch && { ...watch, allowVolatile: settings.allowVolatile });
    }
  }
}
