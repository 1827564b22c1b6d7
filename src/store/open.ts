import type { StoreSettings } from "../config/compile.js";
import { StoreUnavailableError } from "../errors.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";

/** The store a config asks for. */
export async function openStore(settings: StoreSettings): Promise<Store> {
  switch (settings.type) {
    case "sqlite":
      return SqliteStore.open(settings.path);
    case "redis":
      throw new StoreUnavailableError("the redis store is not part of this build yet: use store.type sqlite");
  }
}
