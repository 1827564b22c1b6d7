import { createHash, createHmac, type KeyObject, timingSafeEqual } from "node:crypto";
import { type Static, type TLiteral, type TObject, type TProperties, Type } from "@sinclair/typebox";
import { SecretField } from "../../config/marks.js";
import { DURATION_PATTERN, parseDuration } from "../../config/units.js";

/** What a verifier sees of a request: nothing parsed, the raw bytes exactly as received. */
export interface InboundRequest {
  method: string;
  path: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  rawBody: Buffer;
  /** Epoch milliseconds the request arrived; timestamped schemes check tolerance against it. */
  receivedAt: number;
  /**
   * The client's address as `allow_from` judges it (see server/client-address.ts): the route
   * filter and `dedupe.id` see it as the event's `client`. Absent in a dry run.
   */
  client?: string;
}

/**
 * Why a request was refused. Kept to a small closed set: it goes to logs and metrics labels,
 * never to the client (which only gets a generic 401).
 */
export type VerifyFailure =
  | "missing_signature"
  | "malformed_signature"
  | "signature_mismatch"
  | "timestamp_out_of_tolerance"
  | "body_not_json"
  /** A key or callback URL on a host the scheme does not trust (AWS SNS's SigningCertURL, SubscribeURL). */
  | "untrusted_url"
  /** The signing certificate could not be fetched, or is not a valid certificate now. */
  | "certificate_unavailable"
  /** Genuinely signed, but by a sender this route does not take messages from (an SNS topic not listed). */
  | "topic_not_allowed";

export type Verdict = { ok: true; deliveryId?: string } | { ok: false; reason: VerifyFailure };

/** A request that passes this route's verification: what `switchyard sign` prints. */
export interface SignedRequest {
  headers: Record<string, string>;
  query?: Record<string, string>;
  body: Buffer;
}

/** The parts of an accepted request a scheme may remove its credential from (see Verifier.scrub). */
export interface ScrubbableRequest {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The parsed body. */
  body: unknown;
  /** The body bytes that will be stored. */
  rawBody: Buffer;
}

/** A provider's handshake answer (GitHub `ping`, Slack `url_verification`): answered, not stored. */
export interface HandshakeAnswer {
  status: number;
  /** A string goes out as text/plain (Twitch wants its challenge bare), anything else as JSON. */
  body: unknown;
  /**
   * A call back to the provider that completes the handshake (AWS SNS: GET the SubscribeURL).
   * The daemon makes it before answering and answers 502 if it fails, so the provider retries;
   * a dry run (`switchyard test`, `capture`) only names it. Rejects with a reason for the log.
   */
  followUp?: { what: string; run(): Promise<void> };
}

/** What `sign` may sign with besides the route's secrets. */
export interface SigningKeys {
  /** `sign --private-key FILE`: for public-key schemes, whose real key only the provider holds. */
  privateKey?: KeyObject;
}

/**
 * What a scheme makes of a GET: its handshake answered, or the handshake refused (a wrong
 * verify token: 403, counted as rejected, the reason logged).
 */
export type GetHandshake = { kind: "answer"; answer: HandshakeAnswer } | { kind: "refused"; reason: VerifyFailure };

export interface Verifier {
  /** Synchronous for every scheme but those that must fetch a key first (AWS SNS's certificate). */
  verify(req: InboundRequest): Verdict | Promise<Verdict>;
  /**
   * A scheme whose provider checks a new URL with a GET (Meta's `hub.challenge`) answers it
   * here. Undefined for a GET that is not the handshake: it stays 405. Never stored.
   */
  answerGet?(req: InboundRequest): GetHandshake | undefined;
  /**
   * Makes a request that `verify` accepts (signing with the first key), for `sign` and `test --sign`.
   * `headers` (lower-cased names) are the other headers the request will carry, for schemes
   * whose signature covers some of them.
   */
  sign(body: Buffer, now: number, headers?: Readonly<Record<string, string>>, keys?: SigningKeys): SignedRequest;
  /**
   * The headers the provider sends with every delivery besides its signature (event name,
   * delivery id), so that `sign`'s curl line looks like the real thing to route filters and
   * dedupe. Values are the most common event; `sign -H` replaces any of them.
   */
  providerHeaders?(body: Buffer, now: number): Record<string, string>;
  /** Called only after verification passed, with the parsed body. */
  handshake?(headers: Readonly<Record<string, string>>, body: unknown): HandshakeAnswer | undefined;
  /**
   * Removes the credential itself from the request before it is stored, so that no target and
   * no `events` listing ever sees it (a token header, a Meraki `sharedSecret` field).
   * Signatures are not credentials and stay. A scheme that removes it from the body must also
   * rewrite `rawBody`: the stored bytes are what `forward: raw` and `events show --raw` give out.
   */
  scrub?(request: ScrubbableRequest): void;
  /** The body is JSON whatever its Content-Type says (AWS SNS sends text/plain). */
  jsonBody?: boolean;
}

export interface VerifierContext {
  /** The route's secrets, resolved from `secret`, `secrets` or `secret_file`; empty for `none`. */
  keys: readonly Buffer[];
}

/** The secret fields every scheme but `none` takes; exactly one of them must be given. */
export const SECRET_KEYS: readonly string[] = ["secret", "secrets", "secret_file"];

export const secretProperties = {
  secret: Type.Optional(
    SecretField("value", Type.String({ minLength: 1, description: "the shared secret (write `${VAR}` rather than the secret itself)" })),
  ),
  secrets: Type.Optional(
    Type.Array(SecretField("value", Type.String({ minLength: 1 })), {
      minItems: 1,
      description: "a list, `[new, old]`: any one may match, to rotate a secret without downtime",
    }),
  ),
  secret_file: Type.Optional(
    SecretField(
      "file",
      Type.String({
        minLength: 1,
        description:
          "a file holding the secret (trailing newline ignored), relative to the config file's folder; for Docker and systemd credentials",
      }),
    ),
  ),
};

/** Stripe, Slack and Standard Webhooks all use five minutes. */
export const DEFAULT_TOLERANCE = "5m";
export const DEFAULT_TOLERANCE_MS = parseDuration(DEFAULT_TOLERANCE);

export const toleranceProperty = {
  tolerance: Type.Optional(
    Type.String({
      pattern: DURATION_PATTERN,
      default: DEFAULT_TOLERANCE,
      description: "how far the signed timestamp may be from now, either way; stale and future timestamps are refused alike",
    }),
  ),
};

export { HEADER_NAME_PATTERN } from "../../config/header-name.js";

export interface VerifierPlugin<P extends TProperties = TProperties> {
  readonly type: string;
  /** What is checked, for the README's table (Markdown). */
  readonly description: string;
  /** What `dedupe: true` uses as the delivery id (Markdown), or "" when the scheme has none. */
  readonly deliveryId: string;
  /** Whether the scheme needs `secret`/`secrets`/`secret_file`. */
  readonly needsSecret: boolean;
  /**
   * True when the scheme authenticates nothing (`none`): `check` warns of it on a public
   * listener. Public-key schemes need no secret yet are not open. Default: `!needsSecret`.
   */
  readonly open?: boolean;
  /** The options schema, `type` included; additionalProperties false. */
  readonly schema: TObject;
  /**
   * Request headers (lower-case) that carry the credential itself, not a signature of it: the
   * log never shows them, should a future log line pass headers along.
   */
  readonly credentialHeaders: readonly string[];
  create(options: Static<TObject<P & { type: TLiteral<string> }>>, ctx: VerifierContext): Verifier;
}

/** What a scheme's `create` gets besides its options. */
export interface SchemeContext extends VerifierContext {
  /** The `tolerance` option in milliseconds (its default when not given); for timestamped schemes. */
  toleranceMs: number;
}

type SchemeOptions<T extends string, P extends TProperties> = Static<
  TObject<P & typeof secretProperties & typeof toleranceProperty & { type: TLiteral<T> }>
>;

/**
 * A scheme: its type, docs, own options and `create`. The secret options (`secret`, `secrets`,
 * `secret_file`) are added unless `needsSecret` is false, `tolerance` when `timestamped`.
 */
export function defineVerifier<T extends string, P extends TProperties = Record<never, never>>(spec: {
  type: T;
  description: string;
  deliveryId: string;
  /** Default true. */
  needsSecret?: boolean;
  /** Default `!needsSecret`; false for public-key schemes. */
  open?: boolean;
  /** Takes `tolerance` (how old a signed timestamp may be); its value reaches `create` parsed. */
  timestamped?: boolean;
  credentialHeaders?: readonly string[];
  /** The scheme's own options, if any. */
  properties?: P;
  create(options: SchemeOptions<T, P>, ctx: SchemeContext): Verifier;
}): VerifierPlugin {
  const needsSecret = spec.needsSecret ?? true;
  const schema: TObject = Type.Object(
    {
      type: Type.Literal(spec.type),
      ...(needsSecret ? secretProperties : {}),
      ...spec.properties,
      ...(spec.timestamped ? toleranceProperty : {}),
    },
    { additionalProperties: false, description: spec.description },
  ) as unknown as TObject;
  return {
    type: spec.type,
    description: spec.description,
    deliveryId: spec.deliveryId,
    needsSecret,
    open: spec.open ?? !needsSecret,
    schema,
    credentialHeaders: spec.credentialHeaders ?? [],
    create: (options, ctx) =>
      spec.create(options as SchemeOptions<T, P>, { ...ctx, toleranceMs: toleranceMs((options as { tolerance?: string }).tolerance) }),
  };
}

// ---- helpers shared by the schemes -------------------------------------------------------

export type HmacAlgorithm = "sha1" | "sha256" | "sha512";

export function hmac(algorithm: HmacAlgorithm, key: Buffer, ...parts: (Buffer | string)[]): Buffer {
  const h = createHmac(algorithm, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Constant-time equality that also hides the length: both sides are hashed to a fixed size
 * first, so a wrong-length guess takes as long as a wrong-content one.
 */
export function safeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

/** Decodes hex strictly: undefined for odd length or non-hex characters. */
export function decodeHex(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  return Buffer.from(text, "hex");
}

/** Decodes base64 strictly (standard alphabet, padding optional): undefined otherwise. */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

/** True when `given` matches the HMAC of the parts under any of the keys. Checks every key. */
export function anyKeyMatches(keys: readonly Buffer[], given: Buffer, algorithm: HmacAlgorithm, ...parts: (Buffer | string)[]): boolean {
  let ok = false;
  // No early exit: the time taken does not tell which key (if any) matched.
  for (const key of keys) ok = safeEqual(hmac(algorithm, key, ...parts), given) || ok;
  return ok;
}

export function firstKey(ctx: VerifierContext): Buffer {
  const key = ctx.keys[0];
  if (!key) throw new Error("no secret configured");
  return key;
}

/** Parses a Unix-seconds timestamp header and checks it against the tolerance. */
export function timestampWithin(
  text: string | undefined,
  receivedAt: number,
  toleranceMs: number,
): "ok" | "missing" | "malformed" | "stale" {
  if (text === undefined || text === "") return "missing";
  if (!/^[0-9]{1,12}$/.test(text)) return "malformed";
  const ts = Number(text) * 1000;
  return Math.abs(receivedAt - ts) <= toleranceMs ? "ok" : "stale";
}

const DIGEST_BYTES: Record<HmacAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

/**
 * Decodes a signature strictly and checks it is as long as the algorithm's digest: a wrong
 * length is reported as malformed (the length of a digest is public, so this leaks nothing).
 */
export function decodeDigest(text: string, encoding: "hex" | "base64", algorithm: HmacAlgorithm): Buffer | undefined {
  const bytes = encoding === "hex" ? decodeHex(text) : decodeBase64(text);
  return bytes?.length === DIGEST_BYTES[algorithm] ? bytes : undefined;
}

/** True when any expected value equals any given one. Compares every pair, no early exit. */
export function anyPairMatches(expected: readonly Buffer[], given: readonly Buffer[]): boolean {
  let ok = false;
  for (const e of expected) for (const g of given) ok = safeEqual(e, g) || ok;
  return ok;
}

/** True when `given` equals any key itself (token-style schemes). Checks every key. */
export function anyKeyEquals(keys: readonly Buffer[], given: string): boolean {
  let ok = false;
  for (const key of keys) ok = safeEqual(key, given) || ok;
  return ok;
}

/** The `tolerance` option in milliseconds; parsed once in `create`. */
export function toleranceMs(text: string | undefined): number {
  return text === undefined ? DEFAULT_TOLERANCE_MS : parseDuration(text);
}

/** `timestampWithin` as a refusal reason, or undefined when the timestamp is fine. */
export function timestampFailure(text: string | undefined, receivedAt: number, tolerance: number): VerifyFailure | undefined {
  const result = timestampWithin(text, receivedAt, tolerance);
  if (result === "ok") return undefined;
  if (result === "missing") return "missing_signature";
  return result === "malformed" ? "malformed_signature" : "timestamp_out_of_tolerance";
}

/** Parses the body as JSON, only ever after the signature over its raw bytes was checked. */
export function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw.toString("utf8")) };
  } catch {
    return { ok: false };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The body's top-level string field, when the body is a JSON object that has one (for sample headers). */
export function bodyField(raw: Buffer, field: string): string | undefined {
  const parsed = parseJson(raw);
  const value = parsed.ok && isRecord(parsed.value) ? parsed.value[field] : undefined;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** An accepting verdict, with the delivery id only when there is a non-empty one. */
export function accepted(deliveryId: unknown): Verdict {
  return typeof deliveryId === "string" && deliveryId !== "" ? { ok: true, deliveryId } : { ok: true };
}
