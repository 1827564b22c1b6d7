import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Type } from "@sinclair/typebox";
import type { ConnectionOptions, MsgHdrs, NatsConnection } from "nats";

/** The NATS client, loaded with a target's first connection: every CLI verb and a daemon without brokers skip it. */
type Nats = typeof import("nats");

import { SecretField } from "../../../config/marks.js";
import { type DeliveryOutcome, defineTarget, type OptionProblem, OptionProblems } from "../target.js";
import { deliverToBroker } from "./broker-delivery.js";
import {
  type BrokerMessage,
  brokerMessage,
  brokerUrl,
  compileName,
  forwardOf,
  forwardProperty,
  NameError,
  nameExpressionField,
  nameField,
  shownPayload,
  shownUrl,
} from "./broker-message.js";
import { digestFiles, readTls, tlsProperties } from "./broker-tls.js";
import { ConnectionKeeper } from "./connection-keeper.js";

const DRAIN_GRACE_MS = 5_000;
/** Which stream takes a subject is looked up once a minute at most (auto mode), for this many subjects. */
const STREAMS_KEPT = 256;
const STREAM_LOOKUP_TTL_MS = 60_000;

/** Why a subject cannot be published to: wildcards and white space are for subscribers (or invalid). */
function subjectProblem(subject: string): string | undefined {
  if (/[\s*>]/.test(subject) || subject.split(".").some((t) => t === "")) {
    return "a subject to publish to is dot-separated tokens without white space or the wildcards * and >";
  }
  return undefined;
}

function natsHeaders(nats: Nats, m: BrokerMessage): MsgHdrs {
  const h = nats.headers();
  for (const [name, value] of Object.entries(m.headers)) h.set(name, value);
  if (m.contentType) h.set("Content-Type", m.contentType);
  return h;
}

/** nats.js errors carry a `code` ("503" is "no responders": nobody listens on the subject). */
function codeOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

export const nats = defineTarget({
  type: "nats",
  description: "publishes each event to NATS: to a JetStream stream (stored, acknowledged, de-duplicated by event id) or core NATS",
  defaultTimeout: "10s",
  defaultConcurrency: 16,
  properties: {
    url: SecretField(
      "url",
      Type.String({ minLength: 1, description: "`nats://host:4222` (`tls://` for TLS); `user:pass@` allowed, never shown" }),
    ),
    subject: nameField("subject", "subject to publish to"),
    subject_expression: nameExpressionField("subject", "subject", '"webhooks." & route & "." & headers."x-github-event"'),
    jetstream: Type.Optional(
      Type.Union([Type.Literal("auto"), Type.Literal(true), Type.Literal(false)], {
        default: "auto",
        description:
          "`auto`: to the stream that takes the subject, settled on the stream's acknowledgement, with `Nats-Msg-Id` = the event id so the stream drops duplicates; a subject no stream takes (or a server without JetStream) is published with core NATS. `true`: a stream is required (none → retry). `false`: core NATS only — settled once the server has the message, which reaches only subscribers connected at that moment; `check` warns",
      }),
    ),
    token: Type.Optional(SecretField("value", Type.String({ minLength: 1, description: "token authentication" }))),
    user: Type.Optional(Type.String({ minLength: 1, description: "with `password`: user/password authentication" })),
    password: Type.Optional(SecretField("value", Type.String({ description: "with `user`; never logged" }))),
    creds_file: Type.Optional(
      SecretField(
        "file",
        Type.String({ minLength: 1, description: "a `.creds` file (JWT and NKey seed, NGS / operator mode), relative to the config file" }),
      ),
    ),
    ...tlsProperties,
    forward: forwardProperty,
  },
  check(o) {
    return o.jetstream === false
      ? [
          {
            at: ["jetstream"],
            severity: "warning",
            message:
              "core NATS keeps nothing: a message reaches only the subscribers connected when it is published, and a delivery counts as done without any of them. Publish to a JetStream stream (jetstream: auto or true)",
          },
        ]
      : [];
  },
  create(o, ctx) {
    const problems: OptionProblem[] = [];
    let servers = o.url;
    let { token, user, password } = o;
    const u = brokerUrl(o.url, ["nats:", "tls:"], problems);
    if (u) {
      servers = `${u.hostname}:${u.port || "4222"}`;
      // Credentials in the URL are user/password, or a token alone, as nats-server's own URLs write them.
      if (u.username && user === undefined && token === undefined) {
        if (u.password) {
          user = decodeURIComponent(u.username);
          password = decodeURIComponent(u.password);
        } else token = decodeURIComponent(u.username);
      }
    }
    const auths = [token, user ?? password, o.creds_file].filter((a) => a !== undefined).length;
    if (auths > 1) problems.push({ field: "token", message: "use one of token, user/password and creds_file" });
    if ((user === undefined) !== (password === undefined))
      problems.push({ field: user === undefined ? "user" : "password", message: "user and password go together" });
    let creds: Uint8Array | undefined;
    if (o.creds_file !== undefined) {
      const file = resolve(ctx.configDir, o.creds_file);
      try {
        creds = readFileSync(file);
      } catch (err) {
        problems.push({
          field: "creds_file",
          message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        });
      }
    }
    const tls = readTls(o, ctx.configDir, problems);
    const subjectOf = compileName("subject", o.subject, o.subject_expression, ctx, subjectProblem, problems);
    const forward = forwardOf(o, problems);
    if (problems.length > 0) throw new OptionProblems(problems);
    const mode = o.jetstream ?? "auto";
    const what = shownUrl(o.url);
    const useTls = o.url.startsWith("tls:") || tls.ca !== undefined || tls.cert !== undefined;
    const options = (nats: Nats): ConnectionOptions => ({
      servers,
      name: `switchyard ${ctx.route}/${ctx.name}`,
      // The keeper reconnects (with backoff) and the worker retries: nats.js must not buffer
      // publishes while disconnected, or a timed-out delivery would still go out later, unseen.
      reconnect: false,
      timeout: ctx.timeoutMs,
      ...(token === undefined ? {} : { token }),
      ...(user === undefined ? {} : { user, pass: password ?? "" }),
      ...(creds ? { authenticator: nats.credsAuthenticator(creds) } : {}),
      ...(useTls
        ? {
            tls: {
              ...(tls.ca ? { ca: tls.ca.toString() } : {}),
              ...(tls.cert && tls.key ? { cert: tls.cert.toString(), key: tls.key.toString() } : {}),
            },
          }
        : {}),
    });
    // Set by the first connection; a message is only built for a connection that exists.
    let nats: Nats | undefined;
    const loaded = async (): Promise<Nats> => {
      nats ??= await import("nats");
      return nats;
    };
    const keeper = new ConnectionKeeper<NatsConnection>({
      what,
      log: ctx.log,
      async connect(lost) {
        const lib = await loaded();
        const nc = await lib.connect(options(lib));
        void nc.closed().then((err) => lost(err instanceof Error ? err : undefined));
        return nc;
      },
      async disconnect(nc) {
        if (nc.isClosed()) return;
        const grace = new Promise<void>((r) => setTimeout(r, DRAIN_GRACE_MS).unref());
        await Promise.race([nc.drain().catch(() => undefined), grace]);
        if (!nc.isClosed()) await nc.close();
      },
    });
    /** Subject → the stream that takes it (undefined: none), and when that was looked up (auto mode). */
    const streams = new Map<string, { stream: string | undefined; at: number }>();
    const streamOf = async (nc: NatsConnection, subject: string): Promise<string | undefined> => {
      const known = streams.get(subject);
      if (known && Date.now() - known.at < STREAM_LOOKUP_TTL_MS) return known.stream;
      let stream: string | undefined;
      try {
        stream = await (await nc.jetstreamManager({ checkAPI: false })).streams.find(subject);
      } catch (err) {
        // 503: the server has no JetStream at all.
        if ((err as Error).message !== "no stream matches subject" && codeOf(err) !== "503") throw err;
      }
      if (streams.size >= STREAMS_KEPT) streams.clear();
      if (stream === undefined && !known)
        ctx.log.warn({ subject }, "no JetStream stream takes this subject: published with core NATS, which keeps nothing");
      streams.set(subject, { stream, at: Date.now() });
      return stream;
    };

    const core = async (nc: NatsConnection, subject: string, m: BrokerMessage, why: string): Promise<DeliveryOutcome> => {
      nc.publish(subject, m.payload, { headers: natsHeaders(await loaded(), m) });
      // A PING answered after the message: the server has it (and passed it to the subscribers it had).
      await nc.flush();
      return { kind: "delivered", detail: `published to ${subject} with core NATS (${why})` };
    };

    const build = async (input: Parameters<typeof brokerMessage>[0]) => ({
      subject: await subjectOf(input),
      message: brokerMessage(input, forward),
    });

    return {
      async render(input) {
        const { subject, message } = await build(input);
        return {
          url: what,
          subject,
          jetstream: mode,
          headers: { "Nats-Msg-Id": input.event.id, ...message.headers },
          payload: shownPayload(message),
        };
      },
      deliver(input, signal) {
        return deliverToBroker({
          keeper,
          timeoutMs: ctx.timeoutMs,
          signal,
          async publish(nc) {
            let subject: string;
            let message: BrokerMessage;
            try {
              ({ subject, message } = await build(input));
            } catch (err) {
              return { kind: "fail", error: err instanceof NameError ? err.message : `subject_expression: ${(err as Error).message}` };
            }
            if (mode === false) return core(nc, subject, message, "jetstream: false");
            if (mode === "auto") {
              // Looked up before publishing: a JetStream publish is a request, and a plain
              // subscriber on the subject would take it for one and leave it unanswered.
              let stream: string | undefined;
              try {
                stream = await streamOf(nc, subject);
              } catch (err) {
                return { kind: "retry", error: `cannot look up the stream for ${subject}: ${(err as Error).message}` };
              }
              if (stream === undefined) return core(nc, subject, message, "no stream takes it");
            }
            try {
              const ack = await nc.jetstream().publish(subject, message.payload, {
                msgID: input.event.id,
                headers: natsHeaders(await loaded(), message),
                timeout: ctx.timeoutMs,
              });
              return {
                kind: "delivered",
                detail: ack.duplicate
                  ? `already in stream ${ack.stream} (duplicate event id, dropped by the stream)`
                  : `stored in stream ${ack.stream} as ${ack.seq}`,
              };
            } catch (err) {
              streams.delete(subject);
              if (codeOf(err) === "503") return { kind: "retry", error: `no JetStream stream answered for ${subject}` };
              return { kind: "retry", error: `JetStream refused the message: ${(err as Error).message}` };
            }
          },
        });
      },
      open: () => keeper.open(),
      connected: () => keeper.connected(),
      close: () => keeper.close(),
      filesDigest: digestFiles([tls.ca, tls.cert, tls.key, creds]),
    };
  },
});
