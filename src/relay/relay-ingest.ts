import type { CompiledConfig } from "../config/compile.js";
import { type ReceiveDeps, receive } from "../pipeline/receive.js";
import { jsonTooDeep } from "../server/json-depth.js";
import type { Store } from "../store/store.js";
import type { Handled } from "./relay-puller.js";
import type { WireEvent } from "./relay-wire.js";

/**
 * The home side of a pulled event: it enters the same receive pipeline as a request POSTed to
 * its path (the route's own verify over the bytes as the provider sent them, filter, dedupe, the
 * durable write), with the edge's receive time, so a timestamped signature still passes after
 * the home was offline, and the edge's event id, so an event handed out twice is stored once.
 */
export async function ingestRelayed(event: WireEvent, relay: string, config: CompiledConfig, deps: ReceiveDeps): Promise<Handled> {
  const { log } = deps;
  const route = config.byPath.get(event.path) ?? (event.path.endsWith("/") ? config.byPath.get(event.path.slice(0, -1)) : undefined);
  const fields = { relay, edgeEventId: event.id, path: event.path.slice(0, 200) };
  if (!route) {
    // Kept at the edge, not refused: a route missing here is a config to fix, and the edge holds
    // the event (its lag shows it) until it is.
    log.error(fields, "relayed event kept at the edge: no route here has its path");
    return "keep";
  }
  const rawBody = Buffer.from(event.body, "base64");
  const receivedAt = Date.parse(event.receivedAt);
  // Refused for good, like the listener refuses them: asking again would never change the answer.
  if (rawBody.length > config.server.bodyLimit || jsonTooDeep(rawBody)) {
    deps.metrics.eventsReceived.inc({ route: route.name, outcome: "invalid" });
    log.warn({ ...fields, route: route.name }, "relayed event refused: its body is larger than server.body_limit or nested too deeply");
    return "ack";
  }
  const answer = await receive(
    route,
    {
      method: event.method,
      path: event.path,
      headers: nullProto(event.headers),
      query: nullProto(event.query),
      rawBody,
      receivedAt: Number.isFinite(receivedAt) ? receivedAt : Date.now(),
    },
    deps,
    event.id,
  );
  // 2xx: stored, a duplicate, ignored by the filter, a handshake. 400/401: refused for good (the
  // route's verify says no), counted and logged by receive. Anything else (503 store down, 500 a
  // failing route expression) may pass later: kept.
  if (answer.status < 300 || answer.status === 400 || answer.status === 401) return "ack";
  log.warn({ ...fields, route: route.name, status: answer.status }, "relayed event kept at the edge: it could not be taken now");
  return "keep";
}

/** Header and query names are data: `__proto__` must not become an inherited property. */
function nullProto(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(record)) out[k] = v;
  return out;
}

/**
 * A pulled batch, in order: each event's durable write joins the same group commit (one fsync
 * for the batch rather than one per event), yet the writes are submitted in the order the edge
 * received the events, because each waits until the one before it has submitted its own (or
 * has finished without one: refused, ignored, a duplicate).
 */
export async function ingestBatch(
  events: readonly WireEvent[],
  relay: string,
  config: CompiledConfig,
  deps: ReceiveDeps,
): Promise<Handled[]> {
  let previous: Promise<void> = Promise.resolve();
  // Only the acks before the first `keep` are sent: an event behind it must not be stored here
  // either, or it would be stored yet handed out again (and stored twice once the relay's
  // dedupe window has passed). Set before the kept event lets the next one go when it is kept
  // before its write (no route, a failing route expression); a write that fails after it was
  // submitted (the store went down) may race the next event, which then is stored, and is a
  // duplicate when handed out again within the relay's dedupe window.
  let kept = false;
  const results = events.map((event) => {
    let turn: () => void = () => undefined;
    const submitted = new Promise<void>((r) => {
      turn = r;
    });
    const mine = previous;
    previous = submitted;
    // The same store, but telling the next event when this one has submitted its write.
    const store = new Proxy(deps.store, {
      get(target, key) {
        if (key === "enqueue") {
          return (req: Parameters<Store["enqueue"]>[0]) => {
            const written = target.enqueue(req);
            turn();
            return written;
          };
        }
        const value: unknown = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return mine
      .then((): Promise<Handled> | Handled => (kept ? "keep" : ingestRelayed(event, relay, config, { ...deps, store })))
      .then((handled) => {
        if (handled === "keep") kept = true;
        return handled;
      })
      .finally(turn);
  });
  return Promise.all(results);
}
