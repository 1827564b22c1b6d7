import { Type } from "@sinclair/typebox";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { DEFAULT_TEXT_MARK, SecretField } from "../../../config/marks.js";
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

/** How long closing waits for the broker's confirms of what is in flight. */
const CLOSE_GRACE_MS = 5_000;

/** AMQP 0-9-1 §4.2.5: a short string is at most 255 bytes. */
function routingKeyProblem(key: string): string | undefined {
  return Buffer.byteLength(key) > 255 ? "a routing key is at most 255 bytes" : undefined;
}

/** One connection and its confirm channel, and the messages the broker returned as unroutable. */
interface Link {
  conn: ChannelModel;
  channel: ConfirmChannel;
  /** Event ids of messages returned (basic.return): the broker sends it before the confirm of the same message. */
  returned: Set<string>;
}

function publish(link: Link, exchange: string, key: string, m: BrokerMessage, eventId: string, persistent: boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    link.channel.publish(
      exchange,
      key,
      m.payload,
      {
        persistent,
        // Unroutable → returned rather than dropped without a word.
        mandatory: true,
        messageId: eventId,
        appId: "switchyard",
        timestamp: Math.floor(Date.parse(m.headers["switchyard-received-at"]) / 1000),
        headers: m.headers,
        ...(m.contentType ? { contentType: m.contentType } : {}),
      },
      (err) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else {
          const returned = link.returned.delete(eventId);
          resolve(!returned);
        }
      },
    );
  });
}

export const amqp = defineTarget({
  type: "amqp",
  description: "publishes each event to a RabbitMQ (AMQP 0-9-1) exchange, settled on the broker's publisher confirm",
  defaultTimeout: "10s",
  defaultConcurrency: 16,
  properties: {
    url: SecretField(
      "url",
      Type.String({ minLength: 1, description: "`amqp://user:pass@host:5672/vhost` or `amqps://…`; the credentials are never shown" }),
    ),
    exchange: Type.Optional(
      Type.String({
        [DEFAULT_TEXT_MARK]: '`""` (the default exchange)',
        description: "the exchange to publish to; the default exchange routes to the queue named by the routing key",
      }),
    ),
    routing_key: nameField("routing_key", "routing key"),
    routing_key_expression: nameExpressionField("routing_key", "routing key", '"meraki." & body.alertTypeId'),
    persistent: Type.Optional(
      Type.Boolean({ default: true, description: "delivery mode 2: a durable queue keeps the message across a broker restart" }),
    ),
    ...tlsProperties,
    forward: forwardProperty,
  },
  create(o, ctx) {
    const problems: OptionProblem[] = [];
    brokerUrl(o.url, ["amqp:", "amqps:"], problems);
    const keyOf = compileName("routing_key", o.routing_key, o.routing_key_expression, ctx, routingKeyProblem, problems);
    const forward = forwardOf(o, problems);
    const tls = readTls(o, ctx.configDir, problems);
    if (problems.length > 0) throw new OptionProblems(problems);
    const exchange = o.exchange ?? "";
    const persistent = o.persistent !== false;
    const what = shownUrl(o.url);
    const keeper = new ConnectionKeeper<Link>({
      what,
      log: ctx.log,
      async connect(lost) {
        // Loaded with the first connection: every CLI verb and a daemon without brokers skip it.
        const amqp = await import("amqplib");
        const conn = await amqp.connect(o.url, {
          timeout: ctx.timeoutMs,
          clientProperties: { connection_name: `switchyard ${ctx.route}/${ctx.name}` },
          ...(tls.ca ? { ca: [tls.ca] } : {}),
          ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
        });
        // Without an 'error' listener an emitted error would end the daemon; 'close' follows it.
        conn.on("error", () => undefined);
        let channel: ConfirmChannel;
        try {
          channel = await conn.createConfirmChannel();
        } catch (err) {
          await conn.close().catch(() => undefined);
          throw err;
        }
        const link: Link = { conn, channel, returned: new Set() };
        let gone = false;
        const down = (err?: Error) => {
          if (gone) return;
          gone = true;
          // A channel closed by the broker (a missing exchange) is a new connection's job too.
          conn.close().catch(() => undefined);
          lost(err);
        };
        channel.on("error", (err: Error) => down(err));
        channel.on("close", () => down(new Error("the broker closed the channel")));
        channel.on("return", (msg) => {
          const id = msg.properties.messageId;
          if (typeof id === "string") link.returned.add(id);
        });
        conn.on("close", (err?: Error) => down(err ?? new Error("the broker closed the connection")));
        return link;
      },
      async disconnect(link) {
        const grace = new Promise<void>((r) => setTimeout(r, CLOSE_GRACE_MS).unref());
        await Promise.race([link.channel.waitForConfirms().catch(() => undefined), grace]);
        await link.conn.close().catch(() => undefined);
      },
    });

    const build = async (input: Parameters<typeof brokerMessage>[0]) => ({
      key: await keyOf(input),
      message: brokerMessage(input, forward),
    });

    return {
      async render(input) {
        const { key, message } = await build(input);
        return {
          url: what,
          exchange,
          routingKey: key,
          persistent,
          messageId: input.event.id,
          headers: message.headers,
          payload: shownPayload(message),
        };
      },
      deliver(input, signal) {
        return deliverToBroker({
          keeper,
          timeoutMs: ctx.timeoutMs,
          signal,
          async publish(link): Promise<DeliveryOutcome> {
            let built: Awaited<ReturnType<typeof build>>;
            try {
              built = await build(input);
            } catch (err) {
              return { kind: "fail", error: err instanceof NameError ? err.message : `routing_key_expression: ${(err as Error).message}` };
            }
            const routed = await publish(link, exchange, built.key, built.message, input.event.id, persistent);
            const where = `exchange ${exchange === "" ? "(default)" : `"${exchange}"`} with routing key "${built.key}"`;
            // Returned: nothing is bound for it; sending it again gives the same answer.
            if (!routed) return { kind: "fail", error: `unroutable: the broker returned the message, no queue is bound to ${where}` };
            return { kind: "delivered", detail: `confirmed by the broker: ${where}` };
          },
        });
      },
      open: () => keeper.open(),
      connected: () => keeper.connected(),
      close: () => keeper.close(),
      filesDigest: digestFiles([tls.ca, tls.cert, tls.key]),
    };
  },
});
