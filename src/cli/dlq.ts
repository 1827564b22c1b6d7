import { UserError } from "../errors.js";
import { print, withStore } from "./common.js";

/** `switchyard dlq list` / `dlq replay ID... | --all`: works while the daemon runs; it picks replays up. */

export async function dlqList(options: { config?: string; route?: string; limit?: number; json?: boolean }): Promise<number> {
  return withStore(options.config, async (store) => {
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
      print(`    ${d.lastError}`);
    }
    print(`${letters.length} dead letter${letters.length === 1 ? "" : "s"}; replay with: switchyard dlq replay ID... or --all`);
    return 0;
  });
}

export async function dlqReplay(ids: string[], options: { config?: string; all?: boolean }): Promise<number> {
  if (!options.all && ids.length === 0)
    throw new UserError("name the dead letters to replay (switchyard dlq list shows their ids), or pass --all");
  if (options.all && ids.length > 0) throw new UserError("give either ids or --all, not both");
  return withStore(options.config, async (store) => {
    const n = await store.replay(options.all ? "all" : ids, Date.now());
    print(`${n} deliver${n === 1 ? "y" : "ies"} queued again`);
    if (!options.all && n < ids.length) {
      process.stderr.write(`${ids.length - n} of the ids given are not in the dead-letter queue\n`);
      return 1;
    }
    return 0;
  });
}
