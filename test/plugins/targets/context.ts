import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { type ReceivedEvent, receivedEvent, type WebhookEvent } from "../../../src/pipeline/event.js";
import { compileExpression } from "../../../src/pipeline/expression.js";
import { HelperClient } from "../../../src/plugins/targets/exec/helper-client.js";
import type { TargetContext } from "../../../src/plugins/targets/target.js";

/** A TargetContext as the config compiler builds it, with a logger whose lines the test can read. */
export function makeContext(configDir: string, timeoutMs: number, over: Partial<TargetContext> = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log: Logger = pino({ level: "info" }, sink);
  const ctx: TargetContext = {
    where: "routes[0].targets[0]",
    route: "github",
    name: "deploy",
    configDir,
    timeoutMs,
    compile: (src, field) => compileExpression(src, `routes[0].targets[0].${field}`),
    log,
    redact: (text) => text,
    // Commands run in this process unless the test passes a helper of its own.
    commands: new HelperClient(undefined),
    ...over,
  };
  return { ctx, lines };
}

/** A received event whose body is `body`; its raw bytes are `over.rawBody`, else the body as text or JSON. */
export function makeEvent(body: unknown, over: Partial<Omit<WebhookEvent, "body">> & { rawBody?: Buffer } = {}): ReceivedEvent {
  const { rawBody, ...fields } = over;
  const bytes = rawBody ?? Buffer.from(typeof body === "string" ? body : (JSON.stringify(body) ?? ""));
  return receivedEvent(
    {
      id: "evt_01",
      route: "github",
      receivedAt: "2026-11-29T12:00:00.000Z",
      method: "POST",
      path: "/hooks/github",
      query: {},
      headers: { "content-type": "application/json" },
      ...fields,
      rawBody: bytes,
    },
    { value: body },
  );
}

export const never = new AbortController().signal;
