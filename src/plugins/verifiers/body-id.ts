import { isRecord, parseJson } from "./verifier.js";

/**
 * A delivery id the provider puts in the signed body (`id`, `event.id`): read only after the
 * signature over the raw bytes was checked. Numbers count too; anything else is no id.
 */
export function bodyId(raw: Buffer, ...path: [string, ...string[]]): string | undefined {
  const parsed = parseJson(raw);
  let value: unknown = parsed.ok ? parsed.value : undefined;
  for (const key of path) value = isRecord(value) ? value[key] : undefined;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && value !== "" ? value : undefined;
}
