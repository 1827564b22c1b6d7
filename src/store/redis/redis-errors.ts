import { StoreUnavailableError } from "../../errors.js";

/**
 * Redis error replies that mean "cannot take or give data right now" rather than "this request
 * or our keyspace is wrong": the ingress answers 503 for these and acks nothing.
 * https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
 */
const UNAVAILABLE_REPLIES = [
  "LOADING", // restarting, still reading the AOF
  "READONLY", // a replica (failover in progress)
  "MISCONF", // a failed RDB save stops writes
  "OOM", // maxmemory reached with noeviction
  "BUSY", // another script runs too long
  "MASTERDOWN",
  "NOREPLICAS",
  "CLUSTERDOWN",
  "TRYAGAIN",
  "EXECABORT", // a transaction refused as a whole (often OOM or MISCONF at queue time)
] as const;

/** ioredis's own faults: closed or reconnecting connection (offline queue off), timeouts. */
const CONNECTION_FAULTS =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|Reached the max retries|connect ETIMEDOUT|Connection timeout/i;

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  // redis-errors' ReplyError (ioredis exports it typed as any, so it is recognised by name).
  if (err.name === "ReplyError") return UNAVAILABLE_REPLIES.some((code) => err.message.startsWith(code));
  if (err.name === "MaxRetriesPerRequestError") return true;
  // Socket errors (ECONNREFUSED, ECONNRESET, EPIPE, ENOTFOUND …) carry an errno code.
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return true;
  return CONNECTION_FAULTS.test(err.message);
}

/**
 * A connection fault in Switchyard's words: ioredis says "Stream isn't writeable and
 * enableOfflineQueue options is false" when it means "not connected". Redis's own error replies
 * (OOM, READONLY …) are kept as they are: they are Redis's words and name the fix.
 */
function describeFault(err: Error): string {
  if (err.name === "ReplyError") return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return `cannot reach redis (${code})`;
  if (/Command timed out/i.test(err.message)) return "redis did not answer in time";
  if (/connect ETIMEDOUT|Connection timeout/i.test(err.message)) return "cannot reach redis (connection timed out)";
  return "not connected to redis (reconnecting)";
}

/** StoreUnavailableError (with the Redis error as cause) for faults of the store; anything else unchanged. */
export function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (isUnavailable(err) && err instanceof Error) {
    return new StoreUnavailableError(`redis store: ${what}: ${describeFault(err)}`, { cause: err });
  }
  return err;
}
