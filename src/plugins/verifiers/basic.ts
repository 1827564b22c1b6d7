import { Type } from "@sinclair/typebox";
import { anyKeyEquals, defineVerifier, firstKey, safeEqual } from "./verifier.js";

const AUTHORIZATION = "authorization";
const BASIC = /^basic +/i;

/** `user:password` from a Basic credential, or undefined when it is not one (RFC 7617). */
function credentials(header: string): { user: string; password: string } | undefined {
  if (!BASIC.test(header)) return undefined;
  const encoded = header.replace(BASIC, "").trim();
  if (encoded === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const text = Buffer.from(encoded, "base64").toString("utf8");
  // The user-id cannot contain a colon; the password can.
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * HTTP Basic authentication: what Alertmanager, Grafana, Sonarr/Radarr, Uptime Kuma, Home
 * Assistant, Proxmox and many tools offer when they sign nothing. The credential itself
 * travels, so both parts are compared in constant time (the user even when the password is
 * wrong, so the time taken tells nothing) and the header is removed before the event is stored.
 * https://www.rfc-editor.org/rfc/rfc7617
 */
export const basic = defineVerifier({
  type: "basic",
  description:
    "`Authorization: Basic …` with `username` and the secret as password (Alertmanager, Grafana, Sonarr/Radarr, Uptime Kuma, Home Assistant, Proxmox); the header is removed from the stored event. Nothing signs the body: use HTTPS",
  deliveryId: "",
  credentialHeaders: [AUTHORIZATION],
  properties: {
    username: Type.String({ minLength: 1, description: "the user name the sender is configured with; the secret is the password" }),
  },
  create: (options, ctx) => {
    if (options.username.includes(":")) throw new Error("basic: username cannot contain ':' (RFC 7617)");
    return {
      verify(req) {
        const header = req.headers[AUTHORIZATION];
        if (!header) return { ok: false, reason: "missing_signature" };
        const given = credentials(header);
        if (!given) return { ok: false, reason: "malformed_signature" };
        // Both compared, always: `&&` would skip the password when the user is wrong.
        const userOk = safeEqual(options.username, given.user);
        const passwordOk = anyKeyEquals(ctx.keys, given.password);
        return userOk && passwordOk ? { ok: true } : { ok: false, reason: "signature_mismatch" };
      },
      sign(body) {
        const pair = `${options.username}:${firstKey(ctx).toString("utf8")}`;
        return { headers: { Authorization: `Basic ${Buffer.from(pair, "utf8").toString("base64")}` }, body };
      },
      scrub(event) {
        delete event.headers[AUTHORIZATION];
      },
    };
  },
});
