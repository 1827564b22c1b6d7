/**
 * The event document: what JSONata filters and transforms see, what the store keeps and what
 * targets receive (as specified in the contract's "The event" section).
 */
export interface WebhookEvent {
  id: string;
  route: string;
  /** ISO 8601 time the request was received. */
  receivedAt: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON, form fields as an object, or the raw text. */
  body: unknown;
}
