import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/schema.js";

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

function rawHeaders(raw: unknown, route: number, target: number): Record<string, unknown> {
  const at = (v: unknown, key: string | number): unknown =>
    v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  const headers = at(at(at(at(at(raw, "routes"), route), "targets"), target), "headers");
  return headers !== null && typeof headers === "object" ? (headers as Record<string, unknown>) : {};
}

/**
 * Every secret value written in (or referenced by) the config, after ${VAR} interpolation.
 * `raw` is the document before interpolation: it tells a header set from a variable.
 */
export function secretValues(config: Config, dir: string, raw?: unknown): string[] {
  const values: string[] = [];
  if (config.server?.admin_token) values.push(config.server.admin_token);
  config.routes.forEach((route, i) => {
    const verify = route.verify;
    if (typeof verify.secret === "string") values.push(verify.secret);
    if (Array.isArray(verify.secrets)) values.push(...verify.secrets.filter((s): s is string => typeof s === "string"));
    const fromFile = readSecretFile(dir, verify.secret_file);
    if (fromFile) values.push(fromFile);
    route.targets.forEach((target, j) => {
      values.push(...urlCredentials(target.url));
      const headers = target.headers;
      if (headers === null || typeof headers !== "object") return;
      const written = rawHeaders(raw, i, j);
      for (const [name, value] of Object.entries(headers)) {
        if (typeof value !== "string") continue;
        const fromVariable = String(written[name] ?? "").includes("${");
        if (!CREDENTIAL_HEADER.test(name) && !fromVariable) continue;
        values.push(value);
        const credential = AUTH_SCHEME.exec(value)?.[1];
        if (credential) values.push(credential);
      }
    });
  });
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
