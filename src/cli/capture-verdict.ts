import type { CompiledConfig } from "../config/compile.js";
import { ExpressionError } from "../errors.js";
import { admit } from "../pipeline/admit.js";
import type { HandshakeAnswer, InboundRequest } from "../plugins/verifiers/verifier.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../server/json-depth.js";

/**
 * What the daemon would make of a captured request, for `switchyard capture -c`: the route its
 * path matches, the verification verdict and the route filter's result, through the same
 * side-effect-free admit() as the daemon and `switchyard test`. Nothing is stored or delivered.
 */
export interface CaptureVerdict {
  /** Lines to print under the request. */
  lines: string[];
  /** A provider handshake (GitHub's ping, Slack's url_verification): answered as the daemon would. */
  handshake?: HandshakeAnswer;
}

export async function captureVerdict(config: CompiledConfig, req: InboundRequest): Promise<CaptureVerdict> {
  // As the daemon looks a route up: the exact path, a trailing "/" tolerated.
  const route =
    config.byPath.get(req.path) ?? (req.path.length > 1 && req.path.endsWith("/") ? config.byPath.get(req.path.slice(0, -1)) : undefined);
  if (!route) {
    const paths = config.routes.map((r) => r.path).join(", ") || "none";
    return { lines: [`route: no route (the daemon would answer 404; route paths: ${paths})`] };
  }
  const methods = route.methods ?? ["POST"];
  const lines = [`route: ${route.name} (${methods.join(", ")} ${route.path}, verify ${route.verifyType})`];
  // A provider checking the URL with a GET (Meta) gets its answer here too, so a hook can be registered against capture.
  const getHandshake = req.method === "GET" ? route.verifier.answerGet?.(req) : undefined;
  if (getHandshake?.kind === "answer") {
    return {
      lines: [...lines, `GET handshake: answered ${getHandshake.answer.status} as the daemon would`],
      handshake: getHandshake.answer,
    };
  }
  if (getHandshake?.kind === "refused")
    return { lines: [...lines, `the daemon would answer 403: GET handshake refused: ${getHandshake.reason}`] };
  if (!methods.includes(req.method)) {
    return { lines: [...lines, `the daemon would answer 405: the route answers ${methods.join(", ")} only, this is ${req.method}`] };
  }
  if (jsonTooDeep(req.rawBody)) {
    return { lines: [...lines, `the daemon would answer 400: body nested too deeply (over ${MAX_JSON_DEPTH} levels)`] };
  }
  let admission: Awaited<ReturnType<typeof admit>>;
  try {
    admission = await admit(route, req);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return { lines: [...lines, "verification: verified", `route filter: error: ${err.message}`, "the daemon would answer 500"] };
  }
  const id = (deliveryId: string | undefined) => (deliveryId ? ` (delivery id ${deliveryId})` : "");
  switch (admission.kind) {
    case "rejected":
      return { lines: [...lines, `verification: failed: ${admission.reason}`, "the daemon would answer 401"] };
    case "invalid":
      return {
        lines: [
          ...lines,
          "verification: verified",
          `the daemon would answer 400: ${admission.reason === "body_not_multipart" ? "body is not valid multipart/form-data" : "body is not valid JSON"}`,
        ],
      };
    case "handshake":
      return {
        lines: [
          ...lines,
          `verification: verified${id(admission.deliveryId)}`,
          `provider handshake: answered ${admission.answer.status} as the daemon would`,
        ],
        handshake: admission.answer,
      };
    case "ignored":
      return {
        lines: [
          ...lines,
          `verification: verified${id(admission.deliveryId)}`,
          "route filter: no",
          "the daemon would answer 200 ignored, and deliver nothing",
        ],
      };
    case "accept": {
      const targets = route.targets.map((t) => t.name).join(", ");
      return {
        lines: [
          ...lines,
          `verification: verified${id(admission.deliveryId)}`,
          `route filter: ${route.filter ? "pass" : "none"}`,
          ...(admission.dedupeKey ? [`dedupe id: ${admission.dedupeKey}`] : []),
          `the daemon would answer 202 and deliver to: ${targets}`,
        ],
      };
    }
  }
}
