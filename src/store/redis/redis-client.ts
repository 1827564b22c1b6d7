import { Redis, type RedisOptions } from "ioredis";
import { StoreUnavailableError } from "../../errors.js";
import { toStoreError } from "./redis-errors.js";
import type { RedisKeys } from "./redis-keys.js";
import { CLAIM, RECLAIM, RELEASE, SETTLE } from "./redis-lua-lease.js";
import { type LuaScript, PRELUDE } from "./redis-lua-prelude.js";
import {
  BACKLOG,
  COUNTS,
  DEAD_LETTERS,
  DEPTH,
  ENQUEUE,
  EVENT,
  EVENT_PAGE,
  EVENTS,
  LEASED_BACKLOG,
  PRUNE,
  REDELIVER,
  REPLAY,
  TARGET_DEPTHS,
} from "./redis-lua-queue.js";

const SCRIPTS: readonly LuaScript[] = [
  CLAIM,
  SETTLE,
  RECLAIM,
  RELEASE,
  ENQUEUE,
  BACKLOG,
  LEASED_BACKLOG,
  DEPTH,
  DEAD_LETTERS,
  EVENTS,
  EVENT,
  REPLAY,
  PRUNE,
  EVENT_PAGE,
  TARGET_DEPTHS,
  REDELIVER,
  COUNTS,
];

/** A first connection that takes longer than this fails open() (and the CLI) with StoreUnavailableError. */
const CONNECT_TIMEOUT_MS = 2_000;
/** A Redis that accepted the connection but stopped answering (a partition, a frozen host) fails a call after this. */
const COMMAND_TIMEOUT_MS = 5_000;
/** Reconnect attempts back off to this and go on forever: the store works again as soon as Redis does. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * Options for both connections. While Redis is down nothing waits: with the offline queue off and
 * no per-request retries a call fails at once (a webhook gets its 503 now, instead of being held
 * until Redis returns or its sender times out), and calls in flight when the connection drops
 * fail too: they may or may not have run, so nothing is acked on them.
 */
function options(name: string): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * 2 ** times, MAX_RECONNECT_DELAY_MS),
    connectionName: name,
  };
}

/** Connects one client to `url`, with our scripts defined on it; StoreUnavailableError if Redis cannot be reached. */
export async function connectClient(url: string, name: string): Promise<Redis> {
  const client = new Redis(url, options(name));
  // ioredis reports every failed reconnect as an 'error' event; the calls that fail report them to
  // their callers. The last one says why a first connection failed ("Connection is closed" does not).
  let lastError: Error | undefined;
  client.on("error", (err: Error) => {
    lastError = err;
  });
  for (const s of SCRIPTS) client.defineCommand(s.name, { numberOfKeys: 0, lua: PRELUDE + s.body });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Connection timeout after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      }),
    ]);
    return client;
  } catch (err) {
    client.disconnect();
    const why = lastError ?? (err as Error);
    throw new StoreUnavailableError(`redis store: cannot connect to ${redactUrl(url)}: ${why.message}`, { cause: why });
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "the configured url";
  }
}

/**
 * Runs one of our scripts (ARGV[1], ARGV[2] = the prefixes), faults of the store as
 * StoreUnavailableError. With `buffers`, bulk strings in the reply are Buffers (ioredis's
 * `…Buffer` variant of a defined command): for replies that carry a body's bytes.
 */
export async function runScript(
  client: Redis,
  keys: RedisKeys,
  script: LuaScript,
  args: readonly (string | number)[],
  what: string,
  buffers = false,
): Promise<unknown> {
  const command: unknown = Reflect.get(client, buffers ? `${script.name}Buffer` : script.name);
  if (typeof command !== "function") throw new Error(`redis store: script ${script.name} is not defined`);
  try {
    const reply: unknown = await command.apply(client, [keys.base, keys.sy, ...args]);
    return reply;
  } catch (err) {
    throw toStoreError(err, what);
  }
}

/** Closes a client politely, or at once when Redis is not there to answer QUIT. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === "end") return;
  try {
    if (client.status === "ready") await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
