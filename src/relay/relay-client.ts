import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { VERSION } from "../version.js";
import { type PullAnswer, parsePullAnswer } from "./relay-wire.js";

/**
 * A connection silent longer than the poll's wait plus this is taken as stalled: half the wait
 * plus 2 s (a 25 s wait: 14.5 s), room for a slow edge or proxy without waiting minutes.
 */
export function stallMarginMs(waitMs: number): number {
  return 2_000 + waitMs / 2;
}
/** A pull answer holds at most `batch` bodies; beyond this it is refused rather than held in memory. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

export interface RelayClientOptions {
  url: string;
  token: string;
  batch: number;
  waitMs: number;
  /** A PEM file to trust besides the system's certificates (a self-signed edge). */
  caFile?: string;
}

/** Why a pull or ack failed, for the log: never the token. */
export class RelayRequestError extends Error {
  readonly code = "relay_request";
}

/**
 * The puller's HTTP side: one long poll, one ack. undici's headers and body timeouts are what
 * notices a stalled connection: no byte for `wait` plus STALL_MARGIN_MS ends the request.
 */
export class RelayClient {
  private readonly agent: Agent;
  private readonly pullUrl: URL;
  private readonly ackUrl: URL;

  constructor(private readonly o: RelayClientOptions) {
    const idle = o.waitMs + stallMarginMs(o.waitMs);
    const ca = o.caFile ? readFileSync(o.caFile, "utf8") : undefined;
    this.agent = new Agent({
      connectTimeout: 10_000,
      headersTimeout: idle,
      bodyTimeout: idle,
      ...(ca ? { connect: { ca } } : {}),
    });
    this.pullUrl = new URL(o.url);
    this.pullUrl.searchParams.set("max", String(o.batch));
    this.pullUrl.searchParams.set("wait", String(o.waitMs / 1000));
    this.ackUrl = new URL(o.url);
    this.ackUrl.search = "";
    this.ackUrl.pathname = `${this.ackUrl.pathname.replace(/\/$/, "")}/ack`;
  }

  private headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.o.token}`, "User-Agent": `Switchyard/${VERSION} relay`, Accept: "application/json" };
  }

  async pull(signal: AbortSignal): Promise<PullAnswer> {
    const text = await this.call(this.pullUrl, { method: "GET", headers: this.headers(), signal }, "pull");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new RelayRequestError("pull: the relay answered something that is not JSON");
    }
    try {
      return parsePullAnswer(value);
    } catch (err) {
      throw new RelayRequestError(`pull: ${(err as Error).message}`);
    }
  }

  async ack(lease: string, acks: readonly string[], signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ lease, acks });
    await this.call(
      this.ackUrl,
      { method: "POST", headers: { ...this.headers(), "Content-Type": "application/json" }, body, signal },
      "ack",
    );
  }

  private async call(
    url: URL,
    init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string; signal: AbortSignal },
    what: string,
  ): Promise<string> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { ...init, dispatcher: this.agent });
    } catch (err) {
      throw new RelayRequestError(`${what}: ${(err as Error).message}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          throw new RelayRequestError(`${what}: the answer is larger than ${MAX_ANSWER_BYTES} bytes; lower the relay's batch`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof RelayRequestError) throw err;
      throw new RelayRequestError(`${what}: ${(err as Error).message}`);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (res.statusCode === 401) throw new RelayRequestError(`${what}: the relay refused the token (401)`);
    if (res.statusCode !== 200) throw new RelayRequestError(`${what}: the relay answered ${res.statusCode}`);
    return text;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
