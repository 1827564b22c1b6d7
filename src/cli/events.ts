import type { DeliverySummary } from "../store/store.js";
import { printable } from "../telemetry/printable.js";
import { print, withStore } from "./common.js";

/** One delivery as `events` and `events show` print it: target, state, attempts, next try, last error. */
export function deliveryLine(d: DeliverySummary): string {
  const due = d.dueAt && (d.state === "retrying" || d.state === "pending") ? `  next try ${new Date(d.dueAt).toISOString()}` : "";
  const error = d.lastError ? `  last error: ${d.lastError}` : "";
  return `${d.target.padEnd(16)} ${d.state.padEnd(10)} attempts ${d.attempts}${due}${error}`;
}

/** `switchyard events`: recent events with each target's delivery state. */
export async function events(options: { config?: string; route?: string; limit?: number; json?: boolean }): Promise<number> {
  return withStore(options.config, "read", async (store) => {
    const list = await store.events({ route: options.route, limit: options.limit });
    if (options.json) {
      print(JSON.stringify(list, null, 2));
      return 0;
    }
    if (list.length === 0) print("no events");
    for (const e of list) {
      print(`${e.receivedAt}  ${e.route}  ${e.id}`);
      for (const d of e.deliveries) print(printable(`    ${deliveryLine(d)}`));
    }
    return 0;
  });
}
