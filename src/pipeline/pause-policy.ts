import { Type } from "@sinclair/typebox";
import { DURATION_PATTERN, parseDuration } from "../config/units.js";

/**
 * `pause_after`: a target whose tries all failed, at least `failures` of them in a row over at
 * least `for`, is paused. A target down for a weekend then waits instead of sending every
 * delivery to the dead-letter queue, and one probe every so often (from `probe`, doubling up to
 * PROBE_MAX_MS) finds out when it is back.
 */
export const PAUSE_DEFAULTS = { failures: 20, for: "10m", probe: "30s" } as const;
/** Probes of a paused target are at most this far apart. */
export const PROBE_MAX_MS = 10 * 60_000;

export interface PausePolicy {
  failures: number;
  forMs: number;
  probeMs: number;
}

export const PauseAfterSchema = Type.Union(
  [
    Type.Literal(false),
    Type.Object(
      {
        failures: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: 1_000_000,
            default: PAUSE_DEFAULTS.failures,
            description: "tries failed in a row, at least",
          }),
        ),
        for: Type.Optional(
          Type.String({ pattern: DURATION_PATTERN, default: PAUSE_DEFAULTS.for, description: "the failures span at least this long" }),
        ),
        probe: Type.Optional(
          Type.String({
            pattern: DURATION_PATTERN,
            default: PAUSE_DEFAULTS.probe,
            description: "wait before the first probe of a paused target; doubled after each failed probe, up to 10m",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description: `a target whose tries all failed, at least \`failures\` in a row over at least \`for\`, is paused: its deliveries wait (no attempts burnt, nothing dead-lettered), one probe delivery is tried after \`probe\`, then at doubling intervals, and the first success resumes it. Default \`{ failures: ${PAUSE_DEFAULTS.failures}, for: ${PAUSE_DEFAULTS.for}, probe: ${PAUSE_DEFAULTS.probe} }\`; \`false\` never pauses. See [Paused targets](#paused-targets)`,
  },
);

export type PauseAfterConfig = false | { failures?: number; for?: string; probe?: string };

/** The policy a target runs with; undefined when `pause_after: false`. */
export function resolvePausePolicy(config: PauseAfterConfig | undefined): PausePolicy | undefined {
  if (config === false) return undefined;
  return {
    failures: config?.failures ?? PAUSE_DEFAULTS.failures,
    forMs: parseDuration(config?.for ?? PAUSE_DEFAULTS.for),
    probeMs: parseDuration(config?.probe ?? PAUSE_DEFAULTS.probe),
  };
}

/** How long after a pause (or a failed probe) the next probe is due: `probe` doubled per failed probe. */
export function probeDelay(policy: PausePolicy | undefined, failedProbes: number): number {
  const base = policy?.probeMs ?? parseDuration(PAUSE_DEFAULTS.probe);
  return Math.min(PROBE_MAX_MS, base * 2 ** Math.min(failedProbes, 20));
}
