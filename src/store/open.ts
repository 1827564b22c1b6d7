import type { StoreSettings } from "../config/compile.js";
import { SqliteStore, type StoreLog } from "./sqlite-store.js";
import type { Store } from "./store.js";

/** The store a config asks for; `log` hears about faults of the store's files (SQLite). */
export async function openStore(settings: StoreSettings, log?: StoreLog): Promise<Store> {
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path, { log });
    case "redis": {
      // Loaded only when asked for: ioredis and BullMQ cost a SQLite daemon 25-30 MiB of memory
      // and a tenth of a second of start-up.
      const { RedisStore } = await import("./redis-store.js");
      return RedisStore.open(settings);
    }
  }
}
