import type { StoreSettings } from "../config/compile.js";
import { RedisStore } from "./redis-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/** The store a config asks for. */
export async function openStore(settings: StoreSettings): Promise<Store> {
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path);
    case "redis":
      return RedisStore.open(settings);
  }
}
