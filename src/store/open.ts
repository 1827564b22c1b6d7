import type { StoreSettings } from "../config/compile.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/**
 * Who opens the store: the daemon, which creates it, or a CLI verb on a store the daemon made,
 * that only reads it (`events`, `dlq list`) or also writes to it (`dlq replay`). The CLI never
 * creates a store file, and a reading verb opens SQLite read-only.
 */
export type StoreAccess = "daemon" | "write" | "read";

/** The store a config asks for. */
export async function openStore(settings: StoreSettings, access: StoreAccess = "daemon"): Promise<Store> {
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path, { readonly: access === "read", existing: access === "write" });
    case "redis": {
      // Loaded only when asked for: ioredis and BullMQ cost a SQLite daemon 25-30 MiB of memory
      // and a tenth of a second of start-up.
      const { RedisStore } = await import("./redis-store.js");
      return RedisStore.open(settings);
    }
  }
}
