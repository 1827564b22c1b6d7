/**
 * The deepest JSON nesting Switchyard takes. Webhook payloads nest a handful of levels; what is
 * nested thousands deep breaks things downstream of the parser, which copes: JSON.stringify
 * overflows the stack (~5 000 levels), SQLite's JSON functions refuse documents deeper than
 * 1 000 (`switchyard events` would fail for every event), and so does JSONata's recursion.
 */
export const MAX_JSON_DEPTH = 256;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * True when a body that looks like JSON (starts with `{` or `[`) nests deeper than `max`. One
 * pass over the bytes, nothing allocated, nothing parsed: like body_limit, a bound checked
 * before verification, so an unsigned body is never turned into a deep object tree either.
 * Brackets inside strings do not count.
 */
export function jsonTooDeep(body: Buffer, max = MAX_JSON_DEPTH): boolean {
  let i = 0;
  while (i < body.length && isSpace(body[i] as number)) i++;
  const first = body[i];
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return false;
  let depth = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const byte = body[i] as number;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}
