import type Koa from "koa";
import { readBody } from "../server/read-body.js";

/** The admin API's request bodies are small: ids, target names, a test payload. */
export const API_BODY_LIMIT = 1024 * 1024;

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "BadRequest";
  }
}

/** The request's JSON body as an object ({} when empty); BadRequest for anything else. */
export async function jsonBody(ctx: Koa.Context, limit = API_BODY_LIMIT): Promise<Record<string, unknown>> {
  const read = await readBody(ctx.req, limit);
  if (!read.ok) {
    throw read.reason === "too_large"
      ? new BadRequest(`the request body is larger than ${limit} bytes`, 413)
      : new BadRequest("the request body was cut off");
  }
  const text = read.body.toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new BadRequest("the request body must be a JSON object");
  return value as Record<string, unknown>;
}

/** An optional list of non-empty strings; BadRequest naming the field otherwise. */
export function stringList(body: Record<string, unknown>, field: string, max = 10_000): string[] | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > max || !v.every((s) => typeof s === "string" && s.length > 0 && s.length <= 200)) {
    throw new BadRequest(`"${field}" must be a list of at most ${max} names or ids`);
  }
  return v as string[];
}
