import type { IncomingHttpHeaders } from "node:http";

/**
 * A request's headers and query as the pipeline takes them. Null-prototype records: a header or
 * query parameter named `constructor` or `__proto__` is data like any other, never an inherited
 * property a verifier could trip over.
 */

/** One value per header; repeated headers joined with ", ", as HTTP allows. */
export function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** The first value of each query parameter. */
export function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of params) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}
