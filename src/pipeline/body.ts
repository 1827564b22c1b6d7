import { parseMultipart } from "./multipart.js";

/**
 * The request body as JSONata sees it: parsed JSON, form fields as an object (multipart files
 * as name/type/size), or the raw text.
 * Runs only after verification passed.
 */
export type ParsedBody = { ok: true; value: unknown; json: boolean } | { ok: false; reason: "body_not_json" | "body_not_multipart" };

function isJsonType(contentType: string): boolean {
  return contentType === "application/json" || contentType.endsWith("+json") || contentType === "text/json";
}

function formFields(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * A form-encoded body that is really JSON: what `curl -d '{...}'` sends without
 * `-H 'Content-Type: application/json'` (its -d default is the form type).
 */
export function formBodyIsJson(raw: Buffer, contentTypeHeader: string | undefined): boolean {
  const contentType = (contentTypeHeader ?? "").split(";")[0]?.trim().toLowerCase();
  if (contentType !== "application/x-www-form-urlencoded") return false;
  const text = raw.toString("utf8");
  if (!/^\s*[[{]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function parseBody(raw: Buffer, contentTypeHeader: string | undefined): ParsedBody {
  const contentType = (contentTypeHeader ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (contentType === "multipart/form-data") {
    const fields = parseMultipart(raw, contentTypeHeader ?? "");
    return fields ? { ok: true, value: fields, json: false } : { ok: false, reason: "body_not_multipart" };
  }
  const text = raw.toString("utf8");
  if (contentType === "application/x-www-form-urlencoded") return { ok: true, value: formFields(text), json: false };
  const looksJson = /^\s*[[{"]/.test(text);
  if (isJsonType(contentType) || (contentType === "" && looksJson)) {
    try {
      return { ok: true, value: JSON.parse(text), json: true };
    } catch {
      return isJsonType(contentType) ? { ok: false, reason: "body_not_json" } : { ok: true, value: text, json: false };
    }
  }
  return { ok: true, value: text, json: false };
}
