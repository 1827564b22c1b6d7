import type { Redis } from "ioredis";
import { toStoreError } from "./redis-errors.js";

/**
 * What a Redis's settings make a 202 worth. Without the append-only file a restart of Redis
 * drops every queued event, and an eviction policy lets Redis drop them to make room; neither
 * says anything when it happens, so the store reads the settings itself (README, "What Redis
 * must be set up for").
 */
export interface RedisDurability {
  /** The settings as Redis reported them; undefined when CONFIG could not be read. */
  settings?: { appendonly: string; appendfsync: string; maxmemoryPolicy: string };
  /** Settings that lose queued events: the daemon refuses to start on them unless allow_volatile. */
  unsafe: string[];
  /** Settings that weaken the 202 without losing a queue on a restart, or a check that could not be made. */
  warnings: string[];
}

/** Managed Redis services rename or forbid CONFIG (`rename-command CONFIG ""`, ACLs): an answer, not an outage. */
const CONFIG_REFUSED = /unknown command|NOPERM|no permissions/i;

async function configValue(client: Redis, name: string): Promise<string> {
  const reply: unknown = await client.call("CONFIG", "GET", name);
  // [name, value]; an empty list when this Redis has no such setting.
  return Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : "";
}

/** Reads appendonly, appendfsync and maxmemory-policy; StoreUnavailableError when Redis cannot be asked at all. */
export async function readDurability(client: Redis): Promise<RedisDurability> {
  let values: string[];
  try {
    values = await Promise.all(["appendonly", "appendfsync", "maxmemory-policy"].map((n) => configValue(client, n)));
  } catch (err) {
    if (err instanceof Error && err.name === "ReplyError" && CONFIG_REFUSED.test(err.message)) {
      return {
        unsafe: [],
        warnings: [
          `could not check Redis's persistence settings (CONFIG GET answered "${err.message}"): make sure it runs with appendonly yes and maxmemory-policy noeviction, or queued events are lost on a Redis restart`,
        ],
      };
    }
    throw toStoreError(err, "reading persistence settings");
  }
  const [appendonly = "", appendfsync = "", maxmemoryPolicy = ""] = values;
  const unsafe: string[] = [];
  const warnings: string[] = [];
  if (appendonly !== "yes") {
    unsafe.push(`appendonly is ${appendonly || "unset"}: a restart of Redis loses every queued event, though each was answered 202`);
  }
  if (maxmemoryPolicy !== "noeviction") {
    unsafe.push(`maxmemory-policy is ${maxmemoryPolicy || "unset"}: Redis may evict queued deliveries and dedupe ids to make room`);
  }
  if (appendonly === "yes" && appendfsync === "no") {
    warnings.push(
      "appendfsync is no: the kernel decides when the append-only file reaches the disk; a power loss can lose many seconds of accepted events",
    );
  }
  return { settings: { appendonly, appendfsync, maxmemoryPolicy }, unsafe, warnings };
}
