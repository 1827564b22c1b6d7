import { Type } from "@sinclair/typebox";
import { DEFAULT_TEXT_MARK } from "../../config/marks.js";
import { compileSignedTemplate, renderSignedTemplate } from "./signed-template.js";
import {
  accepted,
  anyPairMatches,
  decodeDigest,
  defineVerifier,
  hmac as digest,
  firstKey,
  HEADER_NAME_PATTERN,
  timestampFailure,
} from "./verifier.js";

/** A plain `enum` (not TypeBox's anyOf of literals), so ajv's error names the allowed values. */
function stringEnum<T extends string>(values: readonly T[], description: string, defaultValue: T) {
  return Type.Unsafe<T>({ type: "string", enum: [...values], description, default: defaultValue });
}

const DEFAULT_ALGORITHM = "sha256";
const DEFAULT_ENCODING = "hex";

const headerName = (description: string) => Type.String({ pattern: HEADER_NAME_PATTERN, description });

/**
 * How many signatures one request may offer with `separator`: enough for a sender rotating its
 * secret, few enough that a header stuffed with thousands of entries costs no more than ten HMAC
 * comparisons before it is refused as malformed.
 */
export const MAX_SIGNATURES = 10;

/**
 * The signatures a value offers. Without `separator` it is one signature after the mandatory
 * `prefix`. With one, each entry (trimmed, since repeated headers are joined with ", ") is a
 * signature with `prefix` removed where present, as adnanh/webhook reads `sha1=a,sha1=b`.
 * Undefined when none is well-formed or there are too many.
 */
function offeredSignatures(
  value: string,
  prefix: string,
  separator: string | undefined,
  encoding: "hex" | "base64",
  algorithm: "sha1" | "sha256" | "sha512",
): Buffer[] | undefined {
  if (separator === undefined) {
    const one = value.startsWith(prefix) ? decodeDigest(value.slice(prefix.length), encoding, algorithm) : undefined;
    return one ? [one] : undefined;
  }
  const entries = value.split(separator).map((e) => e.trim());
  if (entries.length > MAX_SIGNATURES) return undefined;
  const out: Buffer[] = [];
  for (const entry of entries) {
    const sig = decodeDigest(entry.startsWith(prefix) ? entry.slice(prefix.length) : entry, encoding, algorithm);
    if (sig) out.push(sig);
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Any sender that puts an HMAC of the body (and maybe a timestamp) in a header, described by
 * options rather than code. Zoom, for instance, is `header: x-zm-signature, prefix: "v0=",
 * timestamp_header: x-zm-request-timestamp, signed: "v0:{timestamp}:{body}"`.
 * https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
 */
export const hmac = defineVerifier({
  type: "hmac",
  description:
    "generic: a header holding `prefix` + the hex or base64 HMAC of the `signed` template, optionally timestamped (options below)",
  deliveryId: "`id_header`",
  timestamped: true,
  properties: {
    header: Type.Optional(headerName("the header that carries the signature (this or `query`)")),
    query: Type.Optional(Type.String({ minLength: 1, description: "a query parameter that carries the signature, instead of a header" })),
    separator: Type.Optional(
      Type.String({
        minLength: 1,
        description: `the value may hold several signatures separated by this (\`,\` for adnanh/webhook's \`sha1=<a>,sha1=<b>\`); each, \`prefix\` removed where present, is tried in constant time; more than ${MAX_SIGNATURES} entries is malformed`,
      }),
    ),
    algorithm: Type.Optional(stringEnum(["sha1", "sha256", "sha512"] as const, "the HMAC hash", DEFAULT_ALGORITHM)),
    encoding: Type.Optional(stringEnum(["hex", "base64"] as const, "how the signature is written", DEFAULT_ENCODING)),
    prefix: Type.Optional(Type.String({ description: "text before the signature in the header, e.g. `sha256=`" })),
    timestamp_header: Type.Optional(
      headerName("a header with the Unix time in seconds, checked against `tolerance` and signable as `{timestamp}`"),
    ),
    signed: Type.Optional(
      Type.String({
        minLength: 1,
        [DEFAULT_TEXT_MARK]: "`{body}`, or `{timestamp}.{body}` with `timestamp_header`",
        description:
          "the signed template: placeholders `{body}`, `{timestamp}`, `{header:Name}` between literal text; must contain `{body}`",
      }),
    ),
    id_header: Type.Optional(headerName("a header whose value is the delivery id for `dedupe: true`")),
  },
  create: (options, ctx) => {
    if ((options.header === undefined) === (options.query === undefined)) throw new Error("give header or query (one of them)");
    if (options.tolerance !== undefined && options.timestamp_header === undefined) {
      throw new Error("tolerance needs timestamp_header");
    }
    const algorithm = options.algorithm ?? DEFAULT_ALGORITHM;
    const encoding = options.encoding ?? DEFAULT_ENCODING;
    const prefix = options.prefix ?? "";
    const tsHeader = options.timestamp_header?.toLowerCase();
    const parts = compileSignedTemplate(options.signed ?? (tsHeader ? "{timestamp}.{body}" : "{body}"), tsHeader !== undefined);
    const tolerance = ctx.toleranceMs;
    const sigHeader = options.header?.toLowerCase();
    const sigQuery = options.query;
    const separator = options.separator;
    const idHeader = options.id_header?.toLowerCase();
    return {
      verify(req) {
        const offered = sigHeader === undefined ? (sigQuery === undefined ? undefined : req.query[sigQuery]) : req.headers[sigHeader];
        const ts = tsHeader === undefined ? "" : req.headers[tsHeader];
        if (!offered || ts === undefined) return { ok: false, reason: "missing_signature" };
        const given = offeredSignatures(offered, prefix, separator, encoding, algorithm);
        const time = tsHeader === undefined ? undefined : timestampFailure(ts, req.receivedAt, tolerance);
        if (time === "missing_signature") return { ok: false, reason: time };
        if (!given || time === "malformed_signature") return { ok: false, reason: "malformed_signature" };
        const signed = renderSignedTemplate(parts, req.rawBody, ts, (name) => req.headers[name]);
        const expected = ctx.keys.map((key) => digest(algorithm, key, ...signed));
        // Every key against every offered signature, no early exit: the time taken tells nothing.
        if (!anyPairMatches(expected, given)) return { ok: false, reason: "signature_mismatch" };
        // After the signature: this reason then only names genuine but old (replayed) requests.
        if (time) return { ok: false, reason: time };
        return accepted(idHeader === undefined ? undefined : req.headers[idHeader]);
      },
      sign(body, now, sent = {}) {
        const ts = String(Math.floor(now / 1000));
        // {header:Name} signs what the request will carry (`sign -H 'Name: value'`).
        const signed = renderSignedTemplate(parts, body, ts, (name) => (name === tsHeader ? ts : sent[name]));
        const signature = prefix + digest(algorithm, firstKey(ctx), ...signed).toString(encoding);
        const headers: Record<string, string> = options.header === undefined ? {} : { [options.header]: signature };
        if (options.timestamp_header !== undefined) headers[options.timestamp_header] = ts;
        return { headers, body, ...(sigQuery === undefined ? {} : { query: { [sigQuery]: signature } }) };
      },
    };
  },
});
