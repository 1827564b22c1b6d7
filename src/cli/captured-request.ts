import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.js";

/**
 * One request as `switchyard capture --out` writes it, one JSON object per line, and as
 * `switchyard test --request FILE.jsonl[:N]` reads it back. The whole request is kept, not just
 * the body: a signature lives in a header, so a replay without the headers could not verify.
 * The body is kept byte for byte (UTF-8 text in `body`, or `bodyBase64` when it is not valid
 * UTF-8), because a signature covers the exact bytes, whitespace and key order included.
 */
export interface CapturedRequest {
  receivedAt: string;
  method: string;
  path: string;
  /** The first value of each query parameter, as the daemon's verifiers see the query. */
  query: Record<string, string>;
  /** Lower-cased names, repeated headers joined with ", ", as the daemon's verifiers see them. */
  headers: Record<string, string>;
  body?: string;
  bodyBase64?: string;
}

export function capturedLine(req: Omit<CapturedRequest, "body" | "bodyBase64">, rawBody: Buffer): string {
  const text = rawBody.toString("utf8");
  const exact = Buffer.from(text, "utf8").equals(rawBody);
  const record: CapturedRequest = { ...req, ...(exact ? { body: text } : { bodyBase64: rawBody.toString("base64") }) };
  return `${JSON.stringify(record)}\n`;
}

export function capturedBody(req: CapturedRequest): Buffer {
  return req.bodyBase64 !== undefined ? Buffer.from(req.bodyBase64, "base64") : Buffer.from(req.body ?? "", "utf8");
}

function stringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}

function parseLine(line: string, where: string): CapturedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new UserError(`${where} is not JSON: ${(err as Error).message}`);
  }
  const r = value as Partial<CapturedRequest> | null;
  const ok =
    r !== null &&
    typeof r === "object" &&
    typeof r.method === "string" &&
    typeof r.path === "string" &&
    stringRecord(r.headers) &&
    (r.query === undefined || stringRecord(r.query)) &&
    (r.body === undefined || typeof r.body === "string") &&
    (r.bodyBase64 === undefined || typeof r.bodyBase64 === "string");
  if (!ok) throw new UserError(`${where} is not a request written by switchyard capture --out (method, path, headers, body)`);
  const req = r as CapturedRequest;
  return { ...req, receivedAt: req.receivedAt ?? "", query: req.query ?? {} };
}

/**
 * `FILE.jsonl` is its last request, `FILE.jsonl:N` its Nth (from 1). A file whose own name ends
 * in `:N` is taken as a file.
 */
export function readCapturedRequest(spec: string): CapturedRequest {
  const m = /^(.*):([0-9]+)$/.exec(spec);
  const [file, index] = m && !existsSync(spec) ? [m[1] as string, Number(m[2])] : [spec, undefined];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`cannot read the request file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new UserError(`${file} holds no request`);
  if (index !== undefined && (index < 1 || index > lines.length)) {
    throw new UserError(`${file} holds ${lines.length} request${lines.length === 1 ? "" : "s"}: there is no request ${index}`);
  }
  const n = index ?? lines.length;
  return parseLine(lines[n - 1] as string, `${file}:${n}`);
}
