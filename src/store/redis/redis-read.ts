import type { WebhookEvent } from "../../pipeline/event.js";
import type { DeadLetter, DeliverySummary, EventDetail, EventSummary, ReplayResult } from "../store.js";
import { isState, list, num, optionalText, text } from "./redis-replies.js";

/** Replies of the listing scripts (see redis-lua-queue.ts for their shapes) as the Store's types. */

export function readDeadLetters(reply: unknown): DeadLetter[] {
  return list(reply, "deadLetters").map((row) => {
    const [id, eventId, route, target, attempts, lastError, receivedAt, failedAt] = list(row, "deadLetters");
    return {
      id: text(id, "deadLetters"),
      eventId: text(eventId, "deadLetters"),
      route: text(route, "deadLetters"),
      target: text(target, "deadLetters"),
      attempts: num(attempts, "deadLetters"),
      lastError: text(lastError, "deadLetters"),
      receivedAt: text(receivedAt, "deadLetters"),
      failedAt: num(failedAt, "deadLetters"),
    };
  });
}

const WAITING: ReadonlySet<string> = new Set(["pending", "retrying"]);

function readDelivery(row: unknown): DeliverySummary | undefined {
  const [id, target, state, attempts, lastError, dueAt] = list(row, "events");
  const s = text(state, "events");
  // A job removed behind our back (BullMQ tooling) has no state; it is not listed.
  if (!isState(s)) return undefined;
  const summary: DeliverySummary = { id: text(id, "events"), target: text(target, "events"), state: s, attempts: num(attempts, "events") };
  const error = optionalText(lastError);
  if (error !== undefined) summary.lastError = error;
  if (WAITING.has(s)) summary.dueAt = num(dueAt, "events");
  return summary;
}

export function readEvents(reply: unknown): EventSummary[] {
  return list(reply, "events").map((row) => {
    const [id, route, receivedAt, deliveries] = list(row, "events");
    return {
      id: text(id, "events"),
      route: text(route, "events"),
      receivedAt: text(receivedAt, "events"),
      deliveries: list(deliveries, "events")
        .map(readDelivery)
        .filter((d) => d !== undefined),
    };
  });
}

export function readEvent(reply: unknown): EventDetail | undefined {
  if (reply === null) return undefined;
  const [doc, deliveries] = list(reply, "event");
  // The document was written by enqueue from a WebhookEvent.
  const event = JSON.parse(text(doc, "event")) as WebhookEvent;
  return {
    event,
    deliveries: list(deliveries, "event")
      .map(readDelivery)
      .filter((d) => d !== undefined),
  };
}

export function readReplay(reply: unknown): ReplayResult {
  const [replayed, notFound] = list(reply, "replay");
  return { replayed: num(replayed, "replay"), notFound: list(notFound, "replay").map((id) => text(id, "replay")) };
}
