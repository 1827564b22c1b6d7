import { defineVerifier } from "./verifier.js";

/**
 * No verification. It has to be written out (`verify: { type: none }`) so that an open route is
 * always a visible decision, never a forgotten block.
 */
export const none = defineVerifier({
  type: "none",
  description: "nothing; must be written out; `check` warns when the listener is not loopback",
  deliveryId: "",
  needsSecret: false,
  create: () => ({
    verify: () => ({ ok: true }),
    sign: (body) => ({ headers: {}, body }),
  }),
});
