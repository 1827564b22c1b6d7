import { UserError } from "../errors.js";
import type { Store } from "../store/store.js";
import { print, withStore } from "./common.js";
import { printable } from "./printable.js";

/** `switchyard dlq list` / `dlq replay ID... | --all`: works while the daemon runs; it picks replays up. */

export async function dlqList(options: { config?: string; route?: string; limit?: number; json?: boolean }): Promise<number> {
  return withStore(options.config, "read", async (store) => {
    const letters = await store.deadLetters({ route: options.route, limit: options.limit });
    if (options.json) {
      print(JSON.stringify(letters, null, 2));
      return 0;
    }
    if (letters.length === 0) {
      print("the dead-letter queue is empty");
      return 0;
    }
    for (const d of letters) {
      print(
        `${d.id}  ${d.route}/${d.target}  event ${d.eventId}  received ${d.receivedAt}  failed ${new Date(d.failedAt).toISOString()}  attempts ${d.attempts}`,
      );
      print(printable(`    ${d.lastError}`));
    }
    print(`${letters.length} dead letter${letters.length === 1 ? "" : "s"}; replay with: switchyard dlq replay ID... or --all`);
    return 0;
  });
}

/** Why an id matched nothing to replay: an event whose deliveries are all alive, or no such id at all. */
async function whyNotReplayed(store: Store, id: string): Promise<string> {
  const shown = await store.event(id);
  if (!shown) return `${id}: neither a dead letter nor a known event`;
  const states = shown.deliveries.map((d) => `${d.target} ${d.state}`).join(", ") || "no deliveries";
  return `${id}: event with no dead delivery (${states})`;
}

/** Each id is a dead letter's id or an event's id (replays every dead delivery of that event). */
export async function dlqReplay(ids: string[], options: { config?: string; all?: boolean }): Promise<number> {
  if (!options.all && ids.length === 0)
    throw new UserError("name the dead letters or events to replay (switchyard dlq list shows their ids), or pass --all");
  if (options.all && ids.length > 0) throw new UserError("give either ids or --all, not both");
  return withStore(options.config, "write", async (store) => {
    const { replayed, notFound } = await store.replay(options.all ? "all" : ids, Date.now());
    print(`${replayed} deliver${replayed === 1 ? "y" : "ies"} queued again`);
    if (notFound.length === 0) return 0;
    const reasons = await Promise.all(notFound.map((id) => whyNotReplayed(store, id)));
    process.stderr.write(
      `${notFound.length} of the ids given ${notFound.length === 1 ? "is" : "are"} not in the dead-letter queue:\n${reasons.map((r) => `  ${r}\n`).join("")}`,
    );
    return 1;
  });
}
