import type { DeliveryState } from "../store/store.js";

/**
 * What the console's live tail shows as it happens: events stored, deliveries settled. Costs
 * nothing while nobody listens: callers pass a function that builds the message, called only
 * when someone does.
 */

export interface LiveEvent {
  type: "event";
  id: string;
  route: string;
  receivedAt: string;
  targets: readonly string[];
}

export interface LiveDelivery {
  type: "delivery";
  eventId: string;
  id: string;
  route: string;
  target: string;
  state: DeliveryState;
  attempt: number;
  error?: string;
}

export type LiveMessage = LiveEvent | LiveDelivery;

export class LiveFeed {
  private readonly listeners = new Set<(m: LiveMessage) => void>();

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  publish(build: () => LiveMessage): void {
    if (this.listeners.size === 0) return;
    const message = build();
    for (const listen of this.listeners) listen(message);
  }

  subscribe(listen: (m: LiveMessage) => void): () => void {
    this.listeners.add(listen);
    return () => this.listeners.delete(listen);
  }
}
