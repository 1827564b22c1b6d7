import { Type } from "@sinclair/typebox";
import type { IClientOptions, MqttClient } from "mqtt";
import { SecretField } from "../../../config/marks.js";
import { defineTarget, type OptionProblem, OptionProblems } from "../target.js";
import { deliverToBroker } from "./broker-delivery.js";
import {
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

const PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"];
/** How long a closing client may wait for the acknowledgements of what it has in flight. */
const END_GRACE_MS = 5_000;

/** Why a topic cannot be published to (MQTT 3.1.1 §4.7): wildcards are for subscribers only. */
function topicProblem(topic: string): string | undefined {
  if (/[+#]/.test(topic)) return "a topic to publish to may not contain the wildcards + or #";
  if (topic.includes("\0")) return "a topic may not contain a NUL character";
  if (Buffer.byteLength(topic) > 65_535) return "a topic is at most 65 535 bytes";
  return undefined;
}

/** MQTT.js's `end`, which waits for in-flight acknowledgements, bounded: a dead broker sends none. */
function end(client: MqttClient): Promise<void> {
  return new Promise((done) => {
    const force = setTimeout(() => client.end(true, () => done()), END_GRACE_MS);
    client.end(false, () => {
      clearTimeout(force);
      done();
    });
  });
}

export const mqtt = defineTarget({
  type: "mqtt",
  description: "publishes each event to an MQTT broker (Mosquitto, EMQX, Home Assistant's add-on)",
  defaultTimeout: "10s",
  defaultConcurrency: 16,
  properties: {
    url: SecretField(
      "url",
      Type.String({
        minLength: 1,
        description: "`mqtt://`, `mqtts://`, `ws://` or `wss://` host, port and path; `user:pass@` allowed, never shown",
      }),
    ),
    topic: nameField("topic", "topic to publish to"),
    topic_expression: nameExpressionField("topic", "topic", '"meraki/" & body.alertTypeId'),
    qos: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
        default: 1,
        description:
          "1: settled when the broker acknowledges (PUBACK); 2: exactly once to the broker (PUBCOMP); 0: settled once written, unacknowledged — `check` warns that it can lose messages",
      }),
    ),
    retain: Type.Optional(
      Type.Boolean({
        default: false,
        description: "the broker keeps the last message and gives it to every new subscriber (Home Assistant state)",
      }),
    ),
    username: Type.Optional(
      Type.String({
        minLength: 1,
        description: "with `password`, for a broker that wants a login (Mosquitto with a password_file, the Home Assistant add-on)",
      }),
    ),
    password: Type.Optional(SecretField("value", Type.String({ description: "`${VAR}` recommended; never logged" }))),
    client_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: "default `switchyard-<route>-<target>-<random>`: two clients with one id push each other off the broker",
      }),
    ),
    protocol_version: Type.Optional(
      Type.Union([Type.Literal(4), Type.Literal(5)], {
        default: 5,
        description: "5 (MQTT 5: the event id, route and received time go along as user properties) or 4 (MQTT 3.1.1, for older brokers)",
      }),
    ),
    ...tlsProperties,
    forward: forwardProperty,
  },
  check(o) {
    return o.qos === 0
      ? [
          {
            at: ["qos"],
            severity: "warning",
            message: "qos 0 is fire and forget: a message written while the broker goes away is lost, and counted as delivered. Use qos 1",
          },
        ]
      : [];
  },
  create(o, ctx) {
    const problems: OptionProblem[] = [];
    const url = brokerUrl(o.url, PROTOCOLS, problems);
    const topicOf = compileName("topic", o.topic, o.topic_expression, ctx, topicProblem, problems);
    const forward = forwardOf(o, problems);
    const tls = readTls(o, ctx.configDir, problems);
    if (problems.length > 0 || !url) throw new OptionProblems(problems);
    const qos = o.qos ?? 1;
    const retain = o.retain === true;
    const version = o.protocol_version ?? 5;
    const what = shownUrl(o.url);
    const options: IClientOptions = {
      clientId: o.client_id ?? `switchyard-${ctx.route}-${ctx.name}-${Math.random().toString(16).slice(2, 10)}`,
      protocolVersion: version,
      clean: true,
      // The keeper reconnects (with backoff) and the worker retries; MQTT.js must not queue
      // messages while offline, or a timed-out delivery would still go out later, unseen.
      reconnectPeriod: 0,
      queueQoSZero: false,
      connectTimeout: ctx.timeoutMs,
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      ...tls,
    };
    const keeper = new ConnectionKeeper<MqttClient>({
      what,
      log: ctx.log,
      // MQTT.js is loaded with the first connection: every CLI verb and a daemon without brokers skip it.
      connect: async (lost) => {
        const mqtt = await import("mqtt");
        return new Promise((resolve, reject) => {
          const client = mqtt.connect(o.url, options);
          let up = false;
          client.once("connect", () => {
            up = true;
            resolve(client);
          });
          client.on("error", (err) => {
            if (!up) {
              client.end(true);
              reject(err);
            }
          });
          // MQTT 5 brokers may say why they end a connection (Mosquitto 2.0 does not); a second
          // client with the same explicit id is the usual puzzle, worth naming.
          let why =
            o.client_id === undefined
              ? "the broker closed the connection"
              : `the broker closed the connection (is another client connected with client_id ${o.client_id}? each one pushes the other off)`;
          client.on("disconnect", (packet) => {
            why =
              packet.reasonCode === 142
                ? `the broker closed the connection: another client connected with client_id ${options.clientId} (session taken over)`
                : `the broker closed the connection (reason code ${packet.reasonCode ?? 0}${packet.properties?.reasonString ? `: ${packet.properties.reasonString}` : ""})`;
          });
          client.on("close", () => {
            if (!up) reject(new Error(why));
            else {
              // Fails what waits for an acknowledgement now, rather than at the timeout.
              client.end(true);
              lost(new Error(why));
            }
          });
        });
      },
      disconnect: end,
    });

    const build = async (input: Parameters<typeof brokerMessage>[0]) => {
      const topic = await topicOf(input);
      const m = brokerMessage(input, forward);
      return { topic, message: m };
    };

    return {
      async render(input) {
        const { topic, message } = await build(input);
        return {
          url: what,
          topic,
          qos,
          retain,
          ...(version === 5 ? { userProperties: message.headers } : {}),
          payload: shownPayload(message),
        };
      },
      deliver(input, signal) {
        return deliverToBroker({
          keeper,
          timeoutMs: ctx.timeoutMs,
          signal,
          async publish(client) {
            let built: Awaited<ReturnType<typeof build>>;
            try {
              built = await build(input);
            } catch (err) {
              // The same event computes the same topic next time: a retry cannot help.
              return { kind: "fail", error: err instanceof NameError ? err.message : `topic_expression: ${(err as Error).message}` };
            }
            const { topic, message } = built;
            const properties =
              version === 5
                ? { userProperties: message.headers, ...(message.contentType ? { contentType: message.contentType } : {}) }
                : undefined;
            await client.publishAsync(topic, message.payload, { qos, retain, ...(properties ? { properties } : {}) });
            return {
              kind: "delivered",
              detail: qos === 0 ? `written to ${topic} (qos 0)` : `acknowledged by the broker on ${topic} (qos ${qos})`,
            };
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
