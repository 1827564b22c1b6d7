import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { markedValues } from "../config/marks.js";
import { type Config, ConfigSchema } from "../config/schema.js";

/**
 * Masks the config's secret values in texts that leave the process: delivery error texts (stored,
 * logged, shown by `events` and `dlq list`). The first line of defence is not to put secrets in
 * errors at all; this is the second, for what we do not control: a target that echoes our
 * request headers back in its error page, a command that prints its credentials.
 */
export type Redactor = (text: string) => string;

export const REDACTED = "[redacted]";

/**
 * Shorter values are not masked: masking "high" or "yes" everywhere would garble every error
 * text, and a secret that short is guessable anyway.
 */
export const MIN_REDACTED_LENGTH = 6;

/** `Bearer abc`, `Basic dXNlcjpwYXNz`, `token abc`: the credential after an auth scheme word. */
const AUTH_SCHEME = /^[A-Za-z][A-Za-z0-9._~+-]*\s+(\S.*)$/;
/**
 * Target headers that carry credentials, by name. Others (`Title: deploy`, `Content-Type`) are
 * masked only when their value comes from a ${VAR}: masking every header value would turn
 * "expected application/json" in an error into "expected [redacted]".
 */
const CREDENTIAL_HEADER = /auth|token|key|secret|passw|signature|cookie|session|credential/i;

function readSecretFile(dir: string, file: unknown): string | undefined {
  if (typeof file !== "string") return undefined;
  try {
    // As compile-route reads it: a trailing newline is not part of the secret.
    return readFileSync(resolve(dir, file), "utf8").replace(/\r?\n$/, "");
  } catch {
    return undefined; // compile reports the unreadable file; nothing to mask
  }
}

/** Userinfo of a target URL: the http target turns it into a Basic header. */
function urlCredentials(text: unknown): string[] {
  if (typeof text !== "string") return [];
  try {
    const url = new URL(text);
    if (!url.username && !url.password) return [];
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    return [password, `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`];
  } catch {
    return [];
  }
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

/** Header values named like credentials or set from a ${VAR} (`written` is the map before interpolation). */
function headerSecrets(headers: unknown, written: unknown): string[] {
  if (headers === null || typeof headers !== "object") return [];
  const before = written !== null && typeof written === "object" ? (written as Record<string, unknown>) : {};
  const values: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string") continue;
    const fromVariable = String(before[name] ?? "").includes("${");
    if (!CREDENTIAL_HEADER.test(name) && !fromVariable) continue;
    values.push(value);
    const credential = AUTH_SCHEME.exec(value)?.[1];
    if (credential) values.push(credential);
  }
  return values;
}

/**
 * Every secret value written in (or referenced by) the config, after ${VAR} interpolation: the
 * fields the schema marks as secrets, whichever plugin they belong to. `raw` is the document
 * before interpolation: it tells a header set from a variable.
 */
export function secretValues(config: Config, dir: string, raw?: unknown): string[] {
  const values: string[] = [];
  for (const { path, value, secret } of markedValues(ConfigSchema, config)) {
    if (secret === "value" && typeof value === "string") values.push(value);
    else if (secret === "file") {
      const fromFile = readSecretFile(dir, value);
      if (fromFile) values.push(fromFile);
    } else if (secret === "url") values.push(...urlCredentials(value));
    else if (secret === "headers") values.push(...headerSecrets(value, valueAt(raw, path)));
  }
  return values;
}

/** The forms a value takes when a target echoes it: as is, JSON-escaped, URL-encoded. */
function spellings(value: string): string[] {
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
}

export function createRedactor(values: readonly string[]): Redactor {
  const needles = [...new Set(values.flatMap(spellings))].filter((v) => v.length >= MIN_REDACTED_LENGTH);
  if (needles.length === 0) return (text) => text;
  // Longest first, so a value that contains another is masked whole.
  needles.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return (text) => text.replace(pattern, REDACTED);
}

export function buildRedactor(config: Config, dir: string, raw?: unknown): Redactor {
  return createRedactor(secretValues(config, dir, raw));
}
