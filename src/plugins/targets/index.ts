import { amqp } from "./broker/amqp.js";
import { mqtt } from "./broker/mqtt.js";
import { nats } from "./broker/nats.js";
import { exec } from "./exec/exec.js";
import { http } from "./http/http.js";
import { relay } from "./relay/relay.js";
import type { TargetPlugin } from "./target.js";

/** Every delivery target, by `type`. An explicit list: adding one is one line here. */
export const targets: readonly TargetPlugin[] = [http, exec, relay, mqtt, nats, amqp];

export function findTarget(type: string): TargetPlugin | undefined {
  return targets.find((t) => t.type === type);
}
