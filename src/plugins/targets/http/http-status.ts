import { STATUS_CODES } from "node:http";
import type { DeliveryOutcome } from "../target.js";

/**
 * What an HTTP answer means for a delivery. Only answers that can change by themselves are
 * retried: a 404 or a 400 will be the same in an hour, so retrying them only delays the dead
 * letter that a human has to look at.
 */

/** Request Timeout, Too Early, Too Many Requests: the server asks us to come back later. */
const RETRYABLE_4XX = new Set([408, 425, 429]);
/** RFC 9110 §10.2.3 gives Retry-After a meaning on these (and on 3xx, which we do not follow). */
const HONOURS_RETRY_AFTER = new Set([429, 503]);

function statusText(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

export function classifyHttpResponse(status: number, retryAfterHeader: string | undefined, now: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered", detail: `HTTP ${status}` };
  if (RETRYABLE_4XX.has(status) || (status >= 500 && status < 600)) {
    const retryAfterMs = HONOURS_RETRY_AFTER.has(status) ? parseRetryAfter(retryAfterHeader, now) : undefined;
    return retryAfterMs === undefined
      ? { kind: "retry", error: statusText(status) }
      : { kind: "retry", error: statusText(status), retryAfterMs };
  }
  if (status >= 300 && status < 400) {
    return {
      kind: "fail",
      error: `${statusText(status)}: redirects are not followed (set follow_redirects: true, or point url at the final address)`,
    };
  }
  if (status >= 400 && status < 500) return { kind: "fail", error: statusText(status) };
  // 1xx never reaches us (the client consumes it); anything outside 100–599 is a broken server.
  return { kind: "fail", error: `${statusText(status)}: not a valid HTTP status` };
}

const DELTA_SECONDS = /^\d+$/;
const NUMBER_LIKE = /^[+-]?\d*\.?\d+$/;

/**
 * `Retry-After` as milliseconds from `now`: either delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`). Garbage, negative numbers and dates in the past give
 * undefined: the normal backoff applies, as if the header were absent.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (DELTA_SECONDS.test(text)) {
    const ms = Number(text) * 1_000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  // Date.parse reads "1.5" or "-3" as years; a number that is not delta-seconds is garbage, not a date.
  if (NUMBER_LIKE.test(text) || !/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at) || at <= now) return undefined;
  return at - now;
}

/** Removes `user:password@` from every URL in a text: credentials never reach an error, a log or the store. */
export function stripUserinfo(text: string): string {
  return text.replace(/\/\/[^/?#\s@]*@/g, "//");
}

/** What the errors of Node's sockets and of undici mean, said short; no URL, only host:port. */
const REQUEST_ERRORS: Record<string, (where: string) => string> = {
  ECONNREFUSED: (where) => `connection refused by ${where}`,
  ECONNRESET: (where) => `connection reset by ${where}`,
  EPIPE: (where) => `connection closed by ${where} while sending`,
  ENOTFOUND: (where) => `cannot resolve host ${where}`,
  EAI_AGAIN: (where) => `cannot resolve host ${where} (DNS temporarily unavailable)`,
  EHOSTUNREACH: (where) => `host unreachable: ${where}`,
  ENETUNREACH: (where) => `network unreachable: ${where}`,
  ETIMEDOUT: (where) => `connection to ${where} timed out`,
  UND_ERR_CONNECT_TIMEOUT: (where) => `connection to ${where} timed out`,
  UND_ERR_HEADERS_TIMEOUT: (where) => `${where} accepted the connection but sent no answer in time`,
  UND_ERR_BODY_TIMEOUT: (where) => `${where} stopped sending its answer`,
  UND_ERR_SOCKET: (where) => `connection to ${where} closed before the answer was complete`,
};

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** A failed request (no HTTP answer at all) as a short error text for a retry. */
/**
 * undici's redirect interceptor throws (InvalidArgumentError) when a Location leads back to an
 * address it already requested in this delivery: the same answer will come next time, so it is a
 * permanent failure, not a network error to retry.
 */
export function isRedirectLoop(err: unknown): boolean {
  const e = (err ?? {}) as ErrorLike;
  return e.code === "UND_ERR_INVALID_ARG" && typeof e.message === "string" && e.message.startsWith("Redirect loop detected");
}

export function describeRequestError(err: unknown, url: URL): string {
  const where = url.host;
  // undici wraps some socket errors; the innermost known code (the errno) is the most precise.
  let known: ((where: string) => string) | undefined;
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 3; e = (e as ErrorLike).cause, depth++) {
    const code = (e as ErrorLike).code;
    known = (typeof code === "string" ? REQUEST_ERRORS[code] : undefined) ?? known;
  }
  if (known) return known(where);
  const e = (err ?? {}) as ErrorLike;
  const code = typeof e.code === "string" ? `${e.code}: ` : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  return stripUserinfo(`request to ${where} failed: ${code}${message}`).slice(0, 500);
}
