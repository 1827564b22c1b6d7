import type { Api } from "./api.js";

/**
 * The live tail: GET /api/v1/stream read with fetch rather than EventSource, because
 * EventSource cannot send the `Authorization` header. Parses the text/event-stream framing
 * (event:, data:, blank line) and reconnects with a growing pause until stopped.
 */

export interface StreamMessage {
  event: string;
  data: unknown;
}

export function follow(api: Api, onMessage: (m: StreamMessage) => void, onState: (connected: boolean) => void): () => void {
  const stop = new AbortController();
  let pause = 500;

  async function once(): Promise<void> {
    const res = await api.open("/stream", stop.signal);
    if (!res.body) throw new Error("no stream body");
    onState(true);
    pause = 500;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.search(/\r?\n\r?\n/);
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        const message = parse(block);
        if (message) onMessage(message);
        end = buffer.search(/\r?\n\r?\n/);
      }
    }
  }

  void (async () => {
    while (!stop.signal.aborted) {
      try {
        await once();
      } catch {
        // Dropped (daemon restarting, a slow tab cut off by the daemon): try again shortly.
      }
      onState(false);
      if (stop.signal.aborted) return;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 10_000);
    }
  })();
  return () => stop.abort();
}

function parse(block: string): StreamMessage | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return undefined;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
