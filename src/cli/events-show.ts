import { isUtf8 } from "node:buffer";
import { UserError } from "../errors.js";
import type { EventDetail } from "../store/store.js";
import { printable } from "../telemetry/printable.js";
import { print, withStore } from "./common.js";
import { deliveryLine } from "./events.js";

/** The body as it arrived: JSON pretty-printed, raw text as it is. */
function bodyText(body: unknown): string {
  if (body === undefined || body === null || body === "") return "(empty)";
  return typeof body === "string" ? body : JSON.stringify(body, null, 2);
}

/** A body that is not text is not printed: its bytes would reach the terminal as replacement characters. */
function storedBodyText(event: EventDetail["event"]): string {
  if (!isUtf8(event.rawBody)) {
    return `(${event.rawBody.length} bytes that are not UTF-8 text: switchyard events show ${event.id} --raw writes them as received)`;
  }
  return bodyText(event.body);
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
    storedBodyText(event),
    "",
    deliveries.length === 0 ? "no deliveries" : "deliveries:",
  ];
  for (const d of deliveries) lines.push(`    ${d.id.padEnd(8)} ${deliveryLine(d)}`);
  if (deliveries.some((d) => d.state === "dead")) lines.push("", `replay the dead ones with: switchyard dlq replay ${event.id}`);
  return lines.join("\n");
}

/** Writes bytes to stdout exactly, and resolves once they are handed to the stream. */
function writeBytes(bytes: Buffer): Promise<void> {
  return new Promise((done) => {
    if (bytes.length === 0) done();
    else process.stdout.write(bytes, () => done());
  });
}

/**
 * `switchyard events show ID`: the stored request (method, path, query, headers, body) and each
 * delivery. With `raw`, only the stored body bytes, exactly, with nothing added, so that
 * `switchyard events show ID --raw | curl --data-binary @- …` sends the body as it arrived.
 */
export async function eventsShow(id: string, options: { config?: string; json?: boolean; raw?: boolean }): Promise<number> {
  if (options.raw && options.json) throw new UserError("events show: give --raw (the body bytes) or --json (the whole event), not both");
  return withStore(options.config, "read", async (store) => {
    const detail = await store.event(id);
    if (!detail) {
      throw new UserError(
        `no event ${JSON.stringify(id)} in the store (switchyard events lists their ids; finished events are pruned after store.retention)`,
      );
    }
    if (options.raw) await writeBytes(detail.event.rawBody);
    else print(options.json ? JSON.stringify(detail, null, 2) : printable(human(detail)));
    return 0;
  });
}
