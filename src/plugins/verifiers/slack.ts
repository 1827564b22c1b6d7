import {
  accepted,
  anyKeyMatches,
  decodeDigest,
  defineVerifier,
  firstKey,
  hmac,
  isRecord,
  parseJson,
  timestampFailure,
} from "./verifier.js";

const PREFIX = "v0=";

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}">`.
 * https://docs.slack.dev/authentication/verifying-requests-from-slack
 * Bodies are JSON (Events API) or form-encoded (slash commands, interactivity), so JSON is
 * optional here: it is only read for the dedupe id and the url_verification handshake.
 */
export const slack = defineVerifier({
  type: "slack",
  description:
    "`X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`; `tolerance`; answers `url_verification` with its challenge",
  deliveryId: "body `event_id`",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-slack-signature"];
      const ts = req.headers["x-slack-request-timestamp"];
      if (!header || !ts) return { ok: false, reason: "missing_signature" };
      const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
      const time = timestampFailure(ts, req.receivedAt, ctx.toleranceMs);
      if (!given || (time !== undefined && time !== "timestamp_out_of_tolerance")) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", "v0:", ts, ":", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // After the signature: this reason then only names genuine but old (replayed) requests.
      if (time) return { ok: false, reason: time };
      // Slack retries an event up to three times with the same event_id (and X-Slack-Retry-Num).
      const body = parseJson(req.rawBody);
      return accepted(body.ok && isRecord(body.value) ? body.value.event_id : undefined);
    },
    sign(body, now) {
      const ts = String(Math.floor(now / 1000));
      const signature = PREFIX + hmac("sha256", firstKey(ctx), "v0:", ts, ":", body).toString("hex");
      return { headers: { "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature }, body };
    },
    // Slack checks a new Events API URL by sending a challenge it wants echoed back.
    // https://docs.slack.dev/reference/events/url_verification
    handshake(_headers, body) {
      if (!isRecord(body) || body.type !== "url_verification" || typeof body.challenge !== "string") return undefined;
      return { status: 200, body: { challenge: body.challenge } };
    },
  }),
});
