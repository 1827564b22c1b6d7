import { Agent, request } from "undici";
import { parseDuration } from "../config/units.js";
import { UserError } from "../errors.js";
import { FRAMING_HEADERS } from "../pipeline/message-headers.js";
import { RELAY_BATCH_DEFAULT } from "../plugins/targets/relay/relay.js";
import type { Handled } from "../relay/relay-puller.js";
import { RelayPuller } from "../relay/relay-puller.js";
import { RELAY_WAIT_DEFAULT, RELAY_WAIT_MAX_MS } from "../relay/relay-settings.js";
import type { WireEvent } from "../relay/relay-wire.js";
import { createLogger } from "../telemetry/logger.js";

/**
 * `switchyard relay pull URL --token T --to URL`: a durable smee-client for development. Pulls
 * from an edge's relay target, with no config and no store, and forwards each request byte for
 * byte to a local server; an event is acknowledged only once that server answered 2xx, so
 * nothing is lost while it is down (the edge keeps it and hands it out again).
 */

export interface RelayPullOptions {
  token?: string;
  to: string;
  batch?: number;
  wait?: string;
  caFile?: string;
}

/** Headers that describe one connection or one message framing, not the webhook. */
const HOP_HEADERS = new Set(FRAMING_HEADERS);
/** How long the local server may take to answer one request. */
const FORWARD_TIMEOUT_MS = 30_000;

export async function relayPull(url: string, o: RelayPullOptions): Promise<number> {
  const token = o.token ?? process.env.SWITCHYARD_RELAY_TOKEN;
  if (!token) throw new UserError("give the relay target's token with --token or $SWITCHYARD_RELAY_TOKEN");
  for (const [name, value] of [
    ["URL", url],
    ["--to", o.to],
  ] as const) {
    if (!/^https?:\/\//.test(value) || !URL.canParse(value)) throw new UserError(`${name} must be an http:// or https:// URL: ${value}`);
  }
  const waitText = o.wait ?? RELAY_WAIT_DEFAULT;
  let waitMs: number;
  try {
    waitMs = parseDuration(waitText);
  } catch {
    throw new UserError(`--wait must be a duration such as 25s: ${waitText}`);
  }
  if (waitMs > RELAY_WAIT_MAX_MS) throw new UserError("--wait must be at most 55s");
  const log = createLogger();
  const to = new URL(o.to);
  const local = new Agent({ headersTimeout: FORWARD_TIMEOUT_MS, bodyTimeout: FORWARD_TIMEOUT_MS });
  const forward = async (event: WireEvent): Promise<Handled> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.headers)) if (!HOP_HEADERS.has(k)) headers[k] = v;
    const fields = { edgeEventId: event.id, method: event.method, path: event.path.slice(0, 200) };
    try {
      const res = await request(to, {
        method: event.method as "POST",
        headers,
        body: Buffer.from(event.body, "base64"),
        dispatcher: local,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        log.info({ ...fields, status: res.statusCode }, "forwarded");
        return "ack";
      }
      log.warn({ ...fields, status: res.statusCode }, "the local server did not answer 2xx; the event stays at the edge and comes again");
    } catch (err) {
      log.warn(
        { ...fields, err: (err as Error).message },
        "the local server is not reachable; the event stays at the edge and comes again",
      );
    }
    return "keep";
  };
  const puller = new RelayPuller({
    name: "pull",
    url,
    token,
    batch: o.batch ?? RELAY_BATCH_DEFAULT,
    waitMs,
    ...(o.caFile ? { caFile: o.caFile } : {}),
    log,
    // One at a time, in order: a local server sees them as the provider sent them.
    handle: async (events) => {
      const results: Handled[] = [];
      for (const event of events) {
        const r = await forward(event);
        results.push(r);
        if (r === "keep") break;
      }
      return results;
    },
    counters: { pulled: () => undefined, acknowledged: () => undefined, reconnect: () => undefined },
  });
  puller.start();
  log.info({ to: to.toString() }, "relay pull started; Ctrl-C stops");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await puller.stop();
  await local.close();
  log.info("relay pull stopped");
  return 0;
}
