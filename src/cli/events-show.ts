import { UserError } from "../errors.js";
import type { EventDetail } from "../store/store.js";
import { print, withStore } from "./common.js";
import { deliveryLine } from "./events.js";
import { printable } from "./printable.js";

/** The body as it arrived: JSON pretty-printed, raw text as it is. */
function bodyText(body: unknown): string {
  if (body === undefined || body === null || body === "") return "(empty)";
  return typeof body === "string" ? body : JSON.stringify(body, null, 2);
}

function human({ event, deliveries }: EventDetail): string {
  const query = new URLSearchParams(event.query).toString();
  const lines = [
    `event ${event.id}`,
    `route ${event.route}, received ${event.receivedAt}`,
    "",
    `${event.method} ${event.path}${query ? `?${query}` : ""}`,
    ...Object.entries(event.headers).map(([name, value]) => `${name}: ${value}`),
    "",
    bodyText(event.body),
    "",
    deliveries.length === 0 ? "no deliveries" : "deliveries:",
  ];
  for (const d of deliveries) lines.push(`    ${d.id.padEnd(8)} ${deliveryLine(d)}`);
  if (deliveries.some((d) => d.state === "dead")) lines.push("", `replay the dead ones with: switchyard dlq replay ${event.id}`);
  return lines.join("\n");
}

/** `switchyard events show ID`: the stored request (method, path, query, headers, body) and each delivery. */
export async function eventsShow(id: string, options: { config?: string; json?: boolean }): Promise<number> {
  return withStore(options.config, "read", async (store) => {
    const detail = await store.event(id);
    if (!detail) {
      throw new UserError(
        `no event ${JSON.stringify(id)} in the store (switchyard events lists their ids; finished events are pruned after store.retention)`,
      );
    }
    print(options.json ? JSON.stringify(detail, null, 2) : printable(human(detail)));
    return 0;
  });
}
