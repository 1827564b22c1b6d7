import { REDACTED } from "../pipeline/redact.js";
import { verifiers } from "../plugins/verifiers/index.js";
import { jsonTooDeep } from "../server/json-depth.js";
import { printable } from "../telemetry/printable.js";

/**
 * A received request as text for a terminal, for `switchyard capture`. Everything in it comes
 * from whoever sent the request, so every part goes through printable(): an escape sequence in
 * a header or body is shown as \u001b, never run by the terminal.
 */

/**
 * Headers whose value is a credential itself: shown as [redacted] unless --show-secrets. The
 * ones the logger masks (Authorization, Cookie, each scheme's token header such as
 * X-Gitlab-Token), and any named like a token, secret, password or API key. Signatures stay
 * visible: they are not secrets, and comparing them is what a user debugging verification needs.
 */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  ...verifiers.flatMap((v) => v.credentialHeaders.map((h) => h.toLowerCase())),
]);
const CREDENTIAL_LIKE = /token|secret|passw|api-?key|session|credential/i;

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_NAMES.has(name.toLowerCase()) || CREDENTIAL_LIKE.test(name);
}

export interface RequestText {
  receivedAt: Date;
  method: string;
  /** The path with its query string, as sent. */
  url: string;
  remote: string;
  headers: Readonly<Record<string, string>>;
  /** Left out when the body was not read (refused as too large). */
  body?: Buffer;
  showSecrets: boolean;
  /** With -c: masks the config's secret values wherever they appear (a Meraki body field, a token query). */
  redact?: (text: string) => string;
}

/** Pretty JSON when the body is JSON (and not nested so deeply that parsing it is a hazard), else the text as sent. */
function bodyText(body: Buffer): string {
  const text = body.toString("utf8");
  if (!jsonTooDeep(body)) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: shown as it came
    }
  }
  return text;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

export function requestText(r: RequestText): string {
  const mask = r.showSecrets ? (t: string) => t : (r.redact ?? ((t: string) => t));
  const show = (t: string) => printable(mask(t));
  const size = r.body ? ` (${r.body.length} byte${r.body.length === 1 ? "" : "s"})` : "";
  const out = [`--- ${r.receivedAt.toISOString()} ${show(r.method)} ${show(r.url)} from ${r.remote}${size}`];
  for (const [name, value] of Object.entries(r.headers)) {
    out.push(`${show(name)}: ${!r.showSecrets && isCredentialHeader(name) ? REDACTED : show(value)}`);
  }
  const body = r.body;
  if (body && body.length > 0) {
    const binary = !Buffer.from(body.toString("utf8"), "utf8").equals(body);
    out.push(binary ? "body (not UTF-8 text; invalid bytes shown as \ufffd):" : "body:", indent(show(bodyText(body))));
  } else if (body) out.push("body: empty");
  return `${out.join("\n")}\n`;
}
