import type { CompiledRoute } from "../config/compile.js";
import { type ReceivedEvent, readBodyAs, readBodyAsJson } from "./event.js";

/**
 * A stored event's body as its route's ingress read it: JSON whatever the Content-Type for a
 * scheme whose bodies always are (AWS SNS sends text/plain), else as the route's `content_type`.
 * The worker (before a delivery's filter and transform) and the relay endpoint (before a relay
 * target's filter) both call this, so a target's filter sees the same body either way.
 */
export function readRouteBody(event: ReceivedEvent, route: Pick<CompiledRoute, "verifier" | "contentType"> | undefined): void {
  if (!route) return;
  if (route.verifier.jsonBody === true && typeof event.body === "string") readBodyAsJson(event);
  else if (route.contentType !== undefined) readBodyAs(event, route.contentType);
}
