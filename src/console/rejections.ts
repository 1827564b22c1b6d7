/**
 * The console's "refused requests": the recent webhooks the ingress turned away, so "why does
 * GitHub show a red cross" has an answer. In memory only (a restart empties it), bounded, and
 * never holding a body or a header's value: only the header names.
 */

export interface Rejection {
  /** ISO time. */
  at: string;
  status: number;
  /** The route whose path was asked for; absent for an unknown path. */
  route?: string;
  /** Why, in the log's words: signature_mismatch, missing_signature, body_too_large, no_route … */
  reason: string;
  /** The unknown path (404 only), without its query. */
  path?: string;
  method: string;
  remoteAddress: string;
  userAgent: string;
  headerNames: string[];
}

/** Refusals on a route (401, 400, 405, 413) kept. */
export const REJECTIONS_KEPT = 500;
/** Requests for unknown paths (404) kept apart, so scanners cannot push a route's refusals out. */
export const UNKNOWN_PATHS_KEPT = 100;

const MAX_HEADER_NAMES = 64;
const MAX_TEXT = 200;

/** A fixed-size ring: the oldest entry is overwritten, nothing grows. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  constructor(readonly size: number) {
    this.items = new Array(size).fill(undefined);
  }
  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
  }
  /** Newest first. */
  list(): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.size; i++) {
      const item = this.items[(this.next - i + this.size) % this.size];
      if (item !== undefined) out.push(item);
    }
    return out;
  }
}

export interface RefusedRequest {
  status: number;
  route?: string;
  reason: string;
  method: string;
  path: string;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
  headers: Record<string, unknown>;
}

export class Rejections {
  private readonly onRoutes = new Ring<Rejection>(REJECTIONS_KEPT);
  private readonly unknownPaths = new Ring<Rejection>(UNKNOWN_PATHS_KEPT);
  private readonly listeners = new Set<(r: Rejection) => void>();

  record(req: RefusedRequest, now = Date.now()): void {
    const r: Rejection = {
      at: new Date(now).toISOString(),
      status: req.status,
      reason: req.reason,
      method: req.method.slice(0, 16),
      remoteAddress: (req.remoteAddress ?? "").slice(0, MAX_TEXT),
      userAgent: (req.userAgent ?? "").slice(0, MAX_TEXT),
      headerNames: Object.keys(req.headers)
        .slice(0, MAX_HEADER_NAMES)
        .map((n) => n.toLowerCase().slice(0, MAX_TEXT)),
    };
    if (req.route !== undefined) {
      r.route = req.route;
      this.onRoutes.push(r);
    } else {
      r.path = req.path.slice(0, MAX_TEXT);
      this.unknownPaths.push(r);
    }
    for (const listen of this.listeners) listen(r);
  }

  /** Newest first, both rings together. */
  list(): Rejection[] {
    return [...this.onRoutes.list(), ...this.unknownPaths.list()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }

  /** Told of each new one (the live stream); returns the unsubscribe. */
  subscribe(listen: (r: Rejection) => void): () => void {
    this.listeners.add(listen);
    return () => this.listeners.delete(listen);
  }
}
