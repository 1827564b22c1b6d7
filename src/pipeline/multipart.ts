import { Dicer } from "@fastify/busboy";

/** A file part, as the parsed body shows it: what it is, not its bytes (the stored request keeps those). */
export interface MultipartFile {
  name: string;
  type: string;
  size: number;
}

/** More parts than any webhook sends; beyond it the body is refused rather than half-read. */
export const MAX_PARTS = 1000;
/** Header lines per part: a part has two or three (disposition, type, encoding). */
const MAX_HEADER_PAIRS = 20;

const BOUNDARY = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i;

function isJsonType(mime: string): boolean {
  const type = mime.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || type.endsWith("+json");
}

/** A parameter of a header value (`name="payload"`), quoted or not; header bytes arrive as latin1, names are UTF-8. */
function param(value: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, "i").exec(value);
  const raw = m?.[1]?.replace(/\\(.)/g, "$1") ?? m?.[2];
  return raw === undefined ? undefined : Buffer.from(raw, "latin1").toString("utf8");
}

/** A repeated name collects its values in a list, as form fields do. */
function add(out: Record<string, unknown>, name: string, value: unknown): void {
  const prev = out[name];
  out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
}

interface Part {
  stream: Dicer.PartStream;
  headers?: Record<string, string[]>;
}

/**
 * A `multipart/form-data` body (already read whole, under `body_limit`) → its fields by name;
 * a field whose part says `Content-Type: application/json` (Plex's `payload`) is parsed, and a
 * file is `{ name, type, size }`. Undefined when the body is not well-formed multipart (no
 * boundary, cut short, too many parts).
 *
 * Synchronous, so that a stored event's body can be derived from its raw bytes on demand:
 * busboy's parser (Dicer) is given the whole body in one write, which it splits into parts
 * at once, each part's bytes waiting in its stream's buffer. busboy's own field events come a
 * tick later (on each part's `end`), hence Dicer rather than the Busboy wrapper.
 */
export function parseMultipart(raw: Buffer, contentType: string): Record<string, unknown> | undefined {
  const m = BOUNDARY.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  // The closing delimiter is what tells a complete body from one cut short (RFC 2046 §5.1.1).
  if (!boundary || !raw.includes(`--${boundary}--`)) return undefined;
  const parts: Part[] = [];
  let broken = false;
  try {
    const dicer = new Dicer({ boundary, maxHeaderPairs: MAX_HEADER_PAIRS });
    dicer.on("part", (stream) => {
      const part: Part = { stream };
      stream.on("header", (headers: Record<string, string[]>) => {
        part.headers = headers;
      });
      // Errors for a body cut short come a tick later; the closing delimiter was checked above.
      stream.on("error", () => {});
      parts.push(part);
      if (parts.length > MAX_PARTS) broken = true;
    });
    dicer.on("error", () => {});
    dicer.end(raw);
  } catch {
    return undefined;
  }
  if (broken) return undefined;
  // Null prototype: a field named `__proto__` is data like any other.
  const out: Record<string, unknown> = Object.create(null);
  for (const { stream, headers } of parts) {
    const disposition = headers?.["content-disposition"]?.[0] ?? "";
    const name = param(disposition, "name");
    // RFC 7578 §4.2: every part names its field; one that does not is not form data.
    if (name === undefined || !/^form-data\b/i.test(disposition)) return undefined;
    const type = headers?.["content-type"]?.[0] ?? "";
    const filename = param(disposition, "filename");
    if (filename !== undefined) {
      add(out, name, { name: filename, type: type || "application/octet-stream", size: stream.readableLength } satisfies MultipartFile);
      continue;
    }
    // Everything Dicer pushed is still buffered: read() with no size hands it all over at once.
    const bytes = (stream.read() as Buffer | null) ?? Buffer.alloc(0);
    const text = bytes.toString("utf8");
    if (!isJsonType(type)) {
      add(out, name, text);
      continue;
    }
    try {
      add(out, name, JSON.parse(text));
    } catch {
      add(out, name, text);
    }
  }
  return out;
}
