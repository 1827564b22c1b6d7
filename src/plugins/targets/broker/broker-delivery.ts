import { formatDelay } from "../../../pipeline/backoff.js";
import type { DeliveryOutcome } from "../target.js";
import type { ConnectionKeeper } from "./connection-keeper.js";

/**
 * One delivery to a broker: the target's connection, one publish, and its acknowledgement
 * within the target's `timeout`. Without a connection or an acknowledgement the delivery is
 * retried (the broker may have it: at least once, never lost); only `publish` decides a
 * permanent failure.
 */
export async function deliverToBroker<C>(opts: {
  keeper: ConnectionKeeper<C>;
  timeoutMs: number;
  signal: AbortSignal;
  publish(client: C): Promise<DeliveryOutcome>;
}): Promise<DeliveryOutcome> {
  if (opts.signal.aborted) return { kind: "retry", error: "aborted: the daemon is shutting down" };
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<DeliveryOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: "retry", error: `no acknowledgement from the broker within ${formatDelay(opts.timeoutMs)}` }),
      opts.timeoutMs,
    );
    onAbort = () => resolve({ kind: "retry", error: "aborted: the daemon is shutting down" });
    opts.signal.addEventListener("abort", onAbort, { once: true });
  });
  const attempt = (async (): Promise<DeliveryOutcome> => {
    let client: C;
    try {
      client = await opts.keeper.acquire();
    } catch (err) {
      return { kind: "retry", error: (err as Error).message };
    }
    try {
      return await opts.publish(client);
    } catch (err) {
      return { kind: "retry", error: `publish failed: ${(err as Error).message}` };
    }
  })();
  try {
    return await Promise.race([attempt, cut]);
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal.removeEventListener("abort", onAbort);
  }
}
