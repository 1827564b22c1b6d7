import { Busboy, type BusboyFileStream } from "@fastify/busboy";

/** A file part, as the event shows it: what it is, never its bytes (a Plex thumbnail is not worth storing). */
export interface MultipartFile {
  name: string;
  type: string;
  size: number;
}

export type MultipartValue = string | unknown | MultipartFile;

/** More parts than any webhook sends; beyond it the body is refused rather than half-read. */
export const MAX_PARTS = 1000;

const BOUNDARY = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i;

function isJsonType(mime: string): boolean {
  const type = mime.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || type.endsWith("+json");
}

/** A repeated name collects its values in a list, as form fields do. */
function add(out: Record<string, unknown>, name: string, value: unknown): void {
  const prev = out[name];
  out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
}

/**
 * A `multipart/form-data` body (already read whole, under `body_limit`) → its fields by name;
 * a field whose part says `Content-Type: application/json` (Plex's `payload`) is parsed, and a
 * file is `{ name, type, size }`. Synchronous: the bytes are all here, so busboy parses them in
 * the one write, and a file's size is its stream's `bytesRead` once that write returns.
 * Undefined when the body is not well-formed multipart (no boundary, cut short, too many parts).
 */
export function parseMultipart(raw: Buffer, contentType: string): Record<string, unknown> | undefined {
  const m = BOUNDARY.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  // The closing delimiter is what tells a complete body from one cut short (RFC 2046 §5.1.1).
  if (!boundary || !raw.includes(`--${boundary}--`)) return undefined;
  // Null prototype: a field named `__proto__` is data like any other.
  const out: Record<string, unknown> = Object.create(null);
  const files: { field: string; stream: BusboyFileStream; name: string; type: string }[] = [];
  let broken = false;
  try {
    const parser = Busboy({
      headers: { "content-type": contentType },
      // The body is already bounded by body_limit: a field may be as large as the body itself.
      limits: { fieldSize: raw.length, fileSize: raw.length, parts: MAX_PARTS },
    });
    parser.on("field", (name, value, _nameTruncated, valueTruncated, _encoding, mime) => {
      if (valueTruncated) broken = true;
      if (!isJsonType(mime)) return add(out, name, value);
      try {
        add(out, name, JSON.parse(value));
      } catch {
        add(out, name, value);
      }
    });
    parser.on("file", (field, stream, name, _encoding, type) => {
      files.push({ field, stream, name, type });
      // Drained and dropped: only the size is kept.
      stream.resume();
    });
    parser.on("partsLimit", () => {
      broken = true;
    });
    parser.on("error", () => {
      broken = true;
    });
    parser.end(raw);
  } catch {
    return undefined;
  }
  if (broken) return undefined;
  for (const f of files) add(out, f.field, { name: f.name, type: f.type, size: f.stream.bytesRead } satisfies MultipartFile);
  return out;
}
