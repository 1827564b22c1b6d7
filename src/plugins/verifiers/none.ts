import { defineVerifier } from "./verifier.js";

/**
 * No verification. It has to be written out (`verify: { type: none }`) so that an open route is
 * always a visible decision, never a forgotten block.
 */
export const none = defineVerifier({
  type: "none",
  description: "No verification at all: anyone who can reach the path can post events. Use only behind something that authenticates.",
  needsSecret: false,
  properties: {},
  create: () => ({
    verify: () => ({ ok: true }),
    sign: (body) => ({ headers: {}, body }),
  }),
});
