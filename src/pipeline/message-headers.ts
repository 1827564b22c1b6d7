/**
 * Headers that belong to one connection or one message's framing, not to the webhook: a request
 * sent on (a relayed request, a delivery copying the provider's headers) sets its own. The
 * hop-by-hop headers of RFC 9110 §7.6.1, the length and host of this message, and `Expect`.
 */
export const FRAMING_HEADERS: readonly string[] = [
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
];
