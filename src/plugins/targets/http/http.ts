import { isUtf8 } from "node:buffer";
import { Type } from "@sinclair/typebox";
import { Agent, type Dispatcher, interceptors, request } from "undici";
import { HEADER_NAME_PATTERN, isHeaderName } from "../../../config/header-name.js";
import { SecretField } from "../../../config/marks.js";
import { formatDelay } from "../../../pipeline/backoff.js";
import {
  type DeliveryInput,
  type DeliveryOutcome,
  defineTarget,
  type OptionProblem,
  OptionProblems,
  type TargetAnswer,
} from "../target.js";
import { classifyHttpResponse, describeRequestError, isRedirectLoop, stripUserinfo } from "./http-status.js";
import { createPreset, noticeOf, type PresetOption, PresetSchema } from "./presets.js";

const METHODS = ["POST", "PUT", "PATCH", "DELETE", "GET"] as const;
const DEFAULT_METHOD = "POST";
const MAX_REDIRECTS = 5;

import { FRAMING_HEADERS } from "../../../pipeline/message-headers.js";
/** Enough of an error page to say what went wrong; a 10 MB answer must not sit in memory. */
import { RESPONSE_EXCERPT_BYTES } from "../../../store/store.js";

const MAX_RESPONSE_BYTES = 64 * 1024;
/** The part of an error body that goes into the stored error text (and `switchyard events`). */
const ERROR_BODY_CHARS = 500;

interface Payload {
  body?: string | Buffer;
  contentType?: string;
}

const FORWARDS = ["body", "raw"] as const;
type Forward = (typeof FORWARDS)[number];

/**
 * Headers a delivery sets for itself from its own body and connection: copying the request's
 * would describe another message (a wrong length, another host).
 */
const OWN_HEADERS = new Set([...FRAMING_HEADERS, "content-type"]);

/** `forward: raw`: the body bytes as received, under the Content-Type they came with. */
function rawPayloadOf(input: DeliveryInput): Payload {
  const contentType = input.event.headers["content-type"];
  return contentType === undefined ? { body: input.event.rawBody } : { body: input.event.rawBody, contentType };
}

/** The transform's result when there is one, else the event's body: strings as text, the rest as JSON. */
function payloadOf(input: DeliveryInput, method: string): Payload {
  // A GET has no body (ping URLs such as healthchecks.io); servers ignore or reject one.
  if (method === "GET") return {};
  const value = input.transformed ? input.transformed.value : input.event.body;
  if (value === undefined) return {};
  if (typeof value === "string") return { body: value, contentType: "text/plain; charset=utf-8" };
  // JSONata may return a function; JSON.stringify gives undefined for it: send nothing rather than "undefined".
  const json: string | undefined = JSON.stringify(value);
  return json === undefined ? {} : { body: json, contentType: "application/json" };
}

/** Up to `max` bytes of a response body; the rest is destroyed unread, and a body cut short is no error. */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of body) {
      if (chunk.length > max - size) {
        chunks.push(chunk.subarray(0, max - size));
        truncated = true;
        break; // leaving the loop destroys the stream: the connection closes instead of draining 10 MB
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // Reset or timed out mid-body: the status already decided the outcome; keep what arrived.
  } finally {
    body.destroy();
  }
  return { bytes: Buffer.concat(chunks), truncated };
}

/**
 * Headers that describe one connection, not the answer (RFC 9110 §7.6.1), and the length,
 * which the listener sets for the answer it sends: never passed on to the provider.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
]);

/** The answer's end-to-end headers: hop-by-hop ones dropped, and any the Connection header names. */
function endToEndHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const connection = headers.connection;
  const named = new Set(
    (Array.isArray(connection) ? connection.join(",") : (connection ?? ""))
      .split(",")
      .map((n) => n.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    // Set-Cookie is the one header that cannot be joined; the provider has no use for several.
    kept[name] = Array.isArray(value) ? (name === "set-cookie" ? (value[0] ?? "") : value.join(", ")) : value;
  }
  return kept;
}

/** Sets a header, replacing any spelling of the same name (header names are case-insensitive). */
/** What the target answered, for the provider: over `limit` bytes it is not passed on. */
function answerOf(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bytes: Buffer,
  limit: number,
  redact: (text: string) => string,
): TargetAnswer {
  if (bytes.length > limit) return { kind: "too_large", limit };
  // A text answer is masked like the attempt log; bytes that are not text cannot hold a secret of the config's.
  const body = isUtf8(bytes) ? Buffer.from(redact(bytes.toString("utf8")), "utf8") : bytes;
  return { kind: "answer", status, headers: endToEndHeaders(headers), body };
}

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
  headers[name] = value;
}

function parseTargetUrl(text: string, problems: OptionProblem[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push({ field: "url", message: `is not a valid absolute URL: "${stripUserinfo(text)}"` });
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push({ field: "url", message: `must start with http:// or https://, not ${url.protocol}//` });
    return undefined;
  }
  return url;
}

function checkHeaders(headers: Record<string, string>, problems: OptionProblem[]): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!isHeaderName(name)) problems.push({ field: "headers", message: `"${name}" is not a valid header name` });
    // A newline in a value would let one header smuggle others (CRLF injection).
    else if (/[\r\n\0]/.test(value))
      problems.push({ field: `headers.${name}`, message: "a header value may not contain a line break or NUL" });
  }
}

export const http = defineTarget({
  type: "http",
  description: "sends each event to an HTTP endpoint",
  defaultTimeout: "10s",
  defaultConcurrency: 4,
  properties: {
    url: SecretField(
      "url",
      Type.String({
        minLength: 1,
        description: "`http://` or `https://`; `user:pass@` becomes a Basic `Authorization` header and is never shown in errors",
      }),
    ),
    method: Type.Optional(
      Type.Union(
        METHODS.map((m) => Type.Literal(m)),
        { default: DEFAULT_METHOD, description: "GET sends no body" },
      ),
    ),
    headers: Type.Optional(
      SecretField(
        "headers",
        Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN }), Type.String({ pattern: "^[^\\r\\n]*$" }), {
          additionalProperties: false,
          description:
            "`${VAR}` allowed; they override the defaults `User-Agent: Switchyard`, `X-Switchyard-Event-Id`, `X-Switchyard-Route`",
        }),
      ),
    ),
    forward: Type.Optional(
      Type.Union(
        FORWARDS.map((f) => Type.Literal(f)),
        {
          default: "body",
          description:
            "`body`: the transform's result, else the event's body (JSON, or text); `raw`: the body bytes exactly as received, with the request's own `Content-Type`, so an app behind Switchyard can check the provider's signature itself (add the signature header to `forward_headers`). `raw` takes no `transform` and no `method: GET`",
        },
      ),
    ),
    forward_headers: Type.Optional(
      Type.Array(Type.String({ pattern: HEADER_NAME_PATTERN }), {
        uniqueItems: true,
        description:
          "request headers copied to each delivery when the event has them, e.g. `[x-hub-signature-256, x-github-event, x-github-delivery]`; `headers` wins over them. A signature only matches the body with `forward: raw`; credentials the verify scheme removed (a token) are not stored and never forwarded",
      }),
    ),
    preset: Type.Optional(PresetSchema),
    follow_redirects: Type.Optional(
      Type.Boolean({
        default: false,
        description: `\`false\`: a 3xx is a permanent failure; \`true\` follows up to ${MAX_REDIRECTS}; a redirect loop or one redirect more is a permanent failure`,
      }),
    ),
  },
  create(o, ctx) {
    const problems: OptionProblem[] = [];
    const url = parseTargetUrl(o.url, problems);
    const method = o.method ?? DEFAULT_METHOD;
    const userHeaders = o.headers ?? {};
    checkHeaders(userHeaders, problems);
    const forward: Forward = o.forward ?? "body";
    if (forward === "raw" && o.transform !== undefined)
      problems.push({
        field: "transform",
        message: "cannot be used with forward: raw, which sends the body as received: remove one of them",
      });
    if (forward === "raw" && method === "GET")
      problems.push({ field: "method", message: "GET sends no body, so forward: raw has nothing to send: use POST, PUT, PATCH or DELETE" });
    const forwardHeaders = (o.forward_headers ?? []).map((name) => name.toLowerCase());
    forwardHeaders.forEach((name, i) => {
      if (OWN_HEADERS.has(name))
        problems.push({
          field: `forward_headers.${i}`,
          message: `${name} describes the delivery itself and is set by it${name === "content-type" ? " (forward: raw sends the request's own)" : ""}`,
        });
    });
    const preset = o.preset === undefined ? undefined : createPreset(o.preset as PresetOption, problems);
    if (preset && forward === "raw")
      problems.push({ field: "preset", message: "formats the request itself: it cannot be used with forward: raw" });
    if (preset && o.method !== undefined) problems.push({ field: "method", message: `is set by the ${preset.name} preset: remove it` });
    if (preset?.name === "matrix" && url && !/\/send\/[^/]+\/?$/.test(url.pathname))
      problems.push({
        field: "url",
        message: "for the matrix preset, write the room's send URL: https://HOST/_matrix/client/v3/rooms/ROOM_ID/send/m.room.message",
      });
    if (!url || problems.length > 0) throw new OptionProblems(problems);
    const baseHeaders: Record<string, string> = { "User-Agent": "Switchyard" };
    // Credentials in the URL become a header (what curl does); the URL that is requested, logged
    // and shown in errors no longer carries them.
    if (url.username || url.password) {
      const basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      baseHeaders.Authorization = `Basic ${Buffer.from(basic, "utf8").toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    const href = url.href;
    const followRedirects = o.follow_redirects === true;
    const timeoutMs = ctx.timeoutMs;
    // One pool per target, built at load: its timeouts are the target's, so a connect that
    // hangs or a server that never answers is cut at `timeout`. An undici Agent closes its idle
    // keep-alive sockets by itself (4 s), so an Agent dropped by a reload needs no closing.
    const agent = new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const dispatcher: Dispatcher = followRedirects ? agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })) : agent;

    const build = (input: DeliveryInput) => {
      const shaped = preset?.render(noticeOf(input), url, input.event.id);
      const payload: Payload = shaped
        ? { body: shaped.body, contentType: shaped.contentType }
        : forward === "raw"
          ? rawPayloadOf(input)
          : payloadOf(input, method);
      const headers: Record<string, string> = { ...baseHeaders };
      for (const name of forwardHeaders) {
        const value = input.event.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      if (payload.contentType) headers["Content-Type"] = payload.contentType;
      headers["X-Switchyard-Event-Id"] = input.event.id;
      headers["X-Switchyard-Route"] = input.event.route;
      for (const [name, value] of Object.entries(userHeaders)) setHeader(headers, name, value);
      return { method: shaped?.method ?? method, url: shaped?.url ?? href, headers, body: payload.body };
    };

    return {
      async render(input) {
        const req = build(input);
        // The dry run prints the request: raw bytes as their text when they are text.
        if (!Buffer.isBuffer(req.body)) return req;
        const body = isUtf8(req.body) ? req.body.toString("utf8") : `(${req.body.length} bytes as received, not UTF-8 text)`;
        return { ...req, body };
      },

      async deliver(input, signal): Promise<DeliveryOutcome> {
        const req = build(input);
        // headersTimeout/bodyTimeout limit each wait, not the whole; this limits the whole, so
        // a server dripping one byte a second cannot hold a delivery past `timeout`.
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(new Error("timeout")), timeoutMs);
        const onAbort = () => deadline.abort(new Error("shutdown"));
        signal.addEventListener("abort", onAbort, { once: true });
        if (signal.aborted) onAbort();
        try {
          const res = await request(req.url, {
            method: req.method,
            headers: req.headers,
            body: req.body,
            signal: deadline.signal,
            dispatcher,
          });
          const retryAfter = res.headers["retry-after"];
          const outcome = classifyHttpResponse(res.statusCode, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now());
          // Read what the error text needs, and on success read a small body to completion so the
          // connection can be reused; more than that is destroyed unread. An attempt that answers
          // the webhook reads the whole answer, up to its limit (one byte more tells it was over).
          const limit = input.answer ? Math.max(input.answer.limit + 1, MAX_RESPONSE_BYTES) : MAX_RESPONSE_BYTES;
          const read = await readBounded(res.body, limit);
          const answer = {
            text: read.bytes.subarray(0, MAX_RESPONSE_BYTES).toString("utf8"),
            truncated: read.bytes.length > MAX_RESPONSE_BYTES || read.truncated,
          };
          // The attempt log keeps the answer (masked: a target may echo our credentials).
          // Masked a little past what is kept, so that the cut cannot split a secret that is kept.
          const kept = { status: res.statusCode, response: ctx.redact(answer.text.slice(0, RESPONSE_EXCERPT_BYTES + 1024)) };
          if (outcome.kind === "delivered") {
            if (!input.answer) return { ...outcome, ...kept };
            return { ...outcome, ...kept, answer: answerOf(res.statusCode, res.headers, read.bytes, input.answer.limit, ctx.redact) };
          }
          const error =
            followRedirects && res.statusCode >= 300 && res.statusCode < 400
              ? `too many redirects: HTTP ${res.statusCode} still after following ${MAX_REDIRECTS} (point url at the final address)`
              : outcome.error;
          // Masked before it is cut: a secret the cut splits would no longer be recognised.
          const text = ctx.redact(answer.text).replace(/\s+/g, " ").trim();
          const shown = text.length > ERROR_BODY_CHARS || answer.truncated ? `${text.slice(0, ERROR_BODY_CHARS)}…` : text;
          return { ...outcome, ...kept, error: shown ? `${error}: ${shown}` : error };
        } catch (err) {
          if (signal.aborted) return { kind: "retry", error: "aborted: the daemon is shutting down" };
          if (deadline.signal.aborted) return { kind: "retry", error: `timed out after ${formatDelay(timeoutMs)}` };
          if (isRedirectLoop(err)) {
            // The host only: a path may hold a token (Slack's and ntfy's URLs do).
            const error = `redirect loop: a Location from ${url.host} leads back to an address already requested (point url at the final address)`;
            return { kind: "fail", error };
          }
          return { kind: "retry", error: describeRequestError(err, url) };
        } finally {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        }
      },
    };
  },
});
