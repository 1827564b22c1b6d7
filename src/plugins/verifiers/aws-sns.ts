import { type KeyObject, randomUUID, sign as signWith, X509Certificate } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { hostMatcher, readSnsMessage, type SnsMessage, snsStringToSign, topicMatcher } from "./aws-sns-message.js";
import { httpsGet } from "./https-get.js";
import { signatureValid } from "./public-key.js";
import { accepted, decodeBase64, defineVerifier, isRecord, parseJson, type Verdict } from "./verifier.js";

/** The hosts SNS serves certificates and subscription links from (the China regions included). */
const AWS_HOSTS = ["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"];
/** A few certificates are in use at a time (one per region and rotation); the bound keeps a flood of forged URLs harmless. */
const CACHE_ENTRIES = 16;
const FETCH = { timeoutMs: 10_000, maxBytes: 64 * 1024 };
const CERT_PATH = /^\/SimpleNotificationService-[A-Za-z0-9]+\.pem$/;

interface Certificate {
  key: KeyObject;
  validFrom: number;
  validTo: number;
}

/**
 * A bounded map of certificate URL → certificate; a failed fetch is forgotten, so it is tried
 * again, and a certificate is checked to be valid on every use, not only when fetched.
 */
function certificateCache(now: () => number) {
  const entries = new Map<string, Promise<Certificate>>();
  const load = async (url: URL): Promise<Certificate> => {
    const res = await httpsGet(url, FETCH);
    if (res.status !== 200) throw new Error(`${url.href} answered ${res.status}`);
    const cert = new X509Certificate(res.body);
    return { key: cert.publicKey, validFrom: Date.parse(cert.validFrom), validTo: Date.parse(cert.validTo) };
  };
  return async (url: URL): Promise<KeyObject> => {
    let loading = entries.get(url.href);
    if (!loading) {
      loading = load(url);
      loading.catch(() => entries.delete(url.href));
      entries.set(url.href, loading);
      // Oldest first out: a Map iterates in insertion order.
      if (entries.size > CACHE_ENTRIES) entries.delete(entries.keys().next().value ?? "");
    }
    const cert = await loading;
    const t = now();
    if (t < cert.validFrom || t > cert.validTo) throw new Error(`the certificate at ${url.href} is not valid now`);
    return cert.key;
  };
}

/**
 * AWS SNS over HTTP(S): the message's RSA signature (SignatureVersion 1 = SHA1, 2 = SHA256) is
 * checked against the certificate its SigningCertURL names, fetched over HTTPS only from SNS's
 * own hosts and cached. Anyone with an AWS account can get SNS to sign a message and subscribe
 * this URL, so the topic must be listed in `topics`.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 */
export const awsSns = defineVerifier({
  type: "aws-sns",
  description:
    "the message's RSA `Signature` (`SignatureVersion` 1 or 2) against the certificate at `SigningCertURL`, fetched over HTTPS from `sns.<region>.amazonaws.com` only and cached; `TopicArn` must match `topics`; confirms a `SubscriptionConfirmation` by GETting its `SubscribeURL`",
  deliveryId: "body `MessageId`",
  needsSecret: false,
  open: false,
  properties: {
    topics: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "the topic ARNs this route takes messages from; `*` matches any run of characters (`arn:aws:sns:eu-west-1:123456789012:*`). Required: any AWS account can make SNS sign a message to this URL",
    }),
    cert_hosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        default: AWS_HOSTS,
        description:
          "the HTTPS hosts (`host` or `host:port`, `*` = one DNS label) the signing certificate and SubscribeURL may come from; change it only to test against a local server",
      }),
    ),
  },
  create: (options, _ctx) => {
    const trusted = hostMatcher(options.cert_hosts ?? AWS_HOSTS);
    const topicAllowed = topicMatcher(options.topics);
    const certificate = certificateCache(Date.now);
    return {
      jsonBody: true,
      async verify(req): Promise<Verdict> {
        const parsed = parseJson(req.rawBody);
        const m = readSnsMessage(parsed.ok ? parsed.value : undefined);
        if (m === "missing") return { ok: false, reason: "missing_signature" };
        const sig = m === "malformed" ? undefined : decodeBase64(m.Signature);
        if (m === "malformed" || !sig) return { ok: false, reason: "malformed_signature" };
        const certUrl = trusted(m.SigningCertURL);
        // SNS names its certificates so; anything else on its hosts is not one, and is not fetched.
        if (
          !certUrl ||
          !CERT_PATH.test(certUrl.pathname) ||
          (m.SubscribeURL !== undefined && m.Type !== "Notification" && !trusted(m.SubscribeURL))
        ) {
          return { ok: false, reason: "untrusted_url" };
        }
        let key: KeyObject;
        try {
          key = await certificate(certUrl);
        } catch {
          return { ok: false, reason: "certificate_unavailable" };
        }
        const algorithm = m.SignatureVersion === "1" ? "sha1" : "sha256";
        if (!signatureValid(algorithm, Buffer.from(snsStringToSign(m)), key, sig)) return { ok: false, reason: "signature_mismatch" };
        // Checked after the signature: the reason then names a genuine message from another topic.
        if (!topicAllowed(m.TopicArn)) return { ok: false, reason: "topic_not_allowed" };
        // SNS retries a message with the same MessageId (and the same signature: it is not re-signed).
        return accepted(m.MessageId);
      },
      sign(body, now, _headers, keys) {
        const parsed = parseJson(body);
        const m = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
        if (!m || typeof m.Type !== "string" || typeof m.TopicArn !== "string" || typeof m.SigningCertURL !== "string") {
          throw new Error(
            "aws-sns: the body must be an SNS message (JSON with Type, TopicArn, Message and the SigningCertURL of --private-key's certificate)",
          );
        }
        if (keys?.privateKey?.asymmetricKeyType !== "rsa") {
          throw new Error(
            "aws-sns signs with AWS's private key: give an RSA key of your own with --private-key FILE (PEM), its certificate at the message's SigningCertURL",
          );
        }
        const message: Record<string, unknown> = {
          MessageId: randomUUID(),
          Timestamp: new Date(now).toISOString(),
          SignatureVersion: "2",
          ...m,
          Signature: "-",
        };
        const read = readSnsMessage(message);
        if (read === "missing" || read === "malformed")
          throw new Error("aws-sns: the message lacks a field its signature covers (Message, Token, SubscribeURL …)");
        message.Signature = signWith(
          read.SignatureVersion === "1" ? "sha1" : "sha256",
          Buffer.from(snsStringToSign(read)),
          keys.privateKey,
        ).toString("base64");
        return {
          headers: {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": read.Type,
            "x-amz-sns-message-id": read.MessageId,
            "x-amz-sns-topic-arn": read.TopicArn,
          },
          body: Buffer.from(JSON.stringify(message)),
        };
      },
      handshake(_headers, body) {
        const m = readSnsMessage(body);
        if (m === "missing" || m === "malformed" || m.Type === "Notification") return undefined;
        // Unsubscribing is the owner's decision, made in AWS: acknowledged, never undone here.
        if (m.Type === "UnsubscribeConfirmation") return { status: 200, body: { status: "unsubscribed", topic: m.TopicArn } };
        return confirmation(m, trusted);
      },
    };
  },
});

/** Answers a SubscriptionConfirmation after GETting its SubscribeURL (on a trusted host only). */
function confirmation(m: SnsMessage, trusted: (url: string) => URL | undefined) {
  const url = trusted(m.SubscribeURL ?? "");
  return {
    status: 200,
    body: { status: "subscription confirmed", topic: m.TopicArn },
    followUp: {
      what: `confirm the subscription to ${m.TopicArn} (GET its SubscribeURL)`,
      async run() {
        if (!url) throw new Error("the SubscribeURL is not on a trusted host");
        const res = await httpsGet(url, FETCH);
        if (res.status < 200 || res.status > 299) throw new Error(`the SubscribeURL answered ${res.status}`);
      },
    },
  };
}
