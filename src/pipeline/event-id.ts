import { randomFillSync } from "node:crypto";

/**
 * Event ids are UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.
 * They look like any UUID to a target, and sort by time of arrival, which is what the store's
 * indexes want: random (version 4) ids scatter every insert over the whole primary-key index,
 * so each event dirties pages of its own, and a group commit writes half as many events per
 * second (measured in bench/). Unguessable all the same: 74 bits from the CSPRNG.
 */

const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let next = POOL_IDS;

export function newEventId(now: number = Date.now()): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const b = pool.subarray(16 * next, 16 * next + 16);
  next++;
  b.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70; // version 7
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // variant 10
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
