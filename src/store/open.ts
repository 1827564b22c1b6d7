import type { Logger } from "pino";
import type { StoreSettings } from "../config/compile.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/** A daemon's watch over its store's data: where to log what it finds, and a hook for a metric. */
export interface StoreWatch {
  log: Logger;
  /** Redis came back without the data the daemon saw there. */
  onDataLost?: () => void;
}

/** The store a config asks for; the daemon passes `watch`, the CLI's one-shot verbs do not. */
export async function openStore(settings: StoreSettings, watch?: StoreWatch): Promise<Store> {
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path);
    case "redis": {
      // Loaded only when asked for: ioredis and BullMQ cost a SQLite daemon 25-30 MiB of memory
      // and a tenth of a second of start-up.
      const { RedisStore } = await import("./redis-store.js");
      return RedisStore.open(settings, watch && { ...watch, allowVolatile: settings.allowVolatile });
    }
  }
}
