import { github } from "./github.js";
import type { VerifierPlugin } from "./verifier.js";

/** Every verification scheme, by `verify.type`. An explicit list: adding one is one line here. */
export const verifiers: readonly VerifierPlugin[] = [github];

export function findVerifier(type: string): VerifierPlugin | undefined {
  return verifiers.find((v) => v.type === type);
}
