import type { ReceivedEvent } from "./event.js";

/** Events kept at most: bounds the memory they hold (a 7 KB push parses to a few times that). */
const MAX_EVENTS = 256;
/**
 * Body bytes kept at most, all events together: large bodies are read back from the store
 * instead, so a burst of 1 MB payloads cannot pin hundreds of megabytes here.
 */
const MAX_BYTES = 8 * 1024 * 1024;
/** An entry older than this is given up (its target left the config, or the backlog outgrew it). */
const MAX_AGE_MS = 10_000;

interface Entry {
  event: ReceivedEvent;
  /** Claims still expected: one per target of the route. */
  claims: number;
  at: number;
}

/**
 * The events accepted lately, as the ingress built them, until each target has claimed its
 * delivery: the worker's first attempt then takes the event from here instead of reading its
 * document back from the store and parsing it again. Only an optimization: the event and its
 * deliveries are in the store before it is added, and a miss (evicted, too old, another
 * process's event) reads the store as before.
 *
 * The worker claims oldest first, so when full it keeps what it has (those are claimed next)
 * and only makes room by dropping entries past MAX_AGE_MS.
 */
export class FreshEvents {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly maxEvents = MAX_EVENTS,
    private readonly maxAgeMs = MAX_AGE_MS,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  /** Body bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  add(event: ReceivedEvent, targets: number, now: number): void {
    const size = event.rawBody.length;
    if (targets < 1 || size > this.maxBytes / 16) return;
    const full = () => this.entries.size >= this.maxEvents || this.bytes + size > this.maxBytes;
    if (full()) this.dropOlderThan(now - this.maxAgeMs);
    if (full()) return;
    this.entries.set(event.id, { event, claims: targets, at: now });
    this.bytes += size;
  }

  /** The event for a claim of one of its deliveries; forgotten once every target has claimed it. */
  take(eventId: string): ReceivedEvent | undefined {
    const entry = this.entries.get(eventId);
    if (!entry) return undefined;
    if (--entry.claims <= 0) this.forget(eventId, entry);
    return entry.event;
  }

  private dropOlderThan(cutoff: number): void {
    // A Map iterates in insertion order: the oldest entries come first.
    for (const [id, entry] of this.entries) {
      if (entry.at >= cutoff) return;
      this.forget(id, entry);
    }
  }

  private forget(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.bytes -= entry.event.rawBody.length;
  }
}
