import type { ReceivedEvent, WebhookEvent } from "../pipeline/event.js";
import { receivedEvent } from "../pipeline/event.js";

/**
 * Events written before the store kept the request as received (SQLite schema version 1, and
 * Redis event hashes with a `doc` field) hold only the parsed body, so their original bytes are
 * gone. These are the bytes that parse back to exactly that body: form fields re-encoded as a
 * form, text as the text, anything else (JSON) as compact JSON text.
 */
export function legacyBodyBytes(body: unknown, contentTypeHeader: string | undefined): Buffer {
  if (body === undefined || body === null || body === "") return Buffer.alloc(0);
  const contentType = (contentTypeHeader ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const jsonType = contentType === "application/json" || contentType.endsWith("+json") || contentType === "text/json";
  if (contentType === "application/x-www-form-urlencoded" && typeof body === "object") {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(body)) {
      for (const v of Array.isArray(value) ? value : [value]) form.append(name, String(v));
    }
    return Buffer.from(form.toString(), "utf8");
  }
  // A string body under a JSON type was a JSON string literal; under any other type it was the text.
  if (typeof body === "string" && !jsonType) return Buffer.from(body, "utf8");
  return Buffer.from(JSON.stringify(body) ?? "", "utf8");
}

/** A version-1 event document as a received event; its body stays the one it was stored with. */
export function fromLegacyDoc(doc: WebhookEvent): ReceivedEvent {
  const headers = doc.headers ?? {};
  return receivedEvent(
    {
      id: doc.id,
      route: doc.route,
      receivedAt: doc.receivedAt,
      method: doc.method ?? "POST",
      path: doc.path ?? "",
      query: doc.query ?? {},
      headers,
      rawBody: legacyBodyBytes(doc.body, headers["content-type"]),
    },
    { value: doc.body },
  );
}
