import { isRecord } from "./verifier.js";

/** The fields of an SNS message that its signature covers, and how it is signed. */
export interface SnsMessage {
  Type: "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation";
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  SignatureVersion: "1" | "2";
  Signature: string;
  SigningCertURL: string;
}

const TYPES = new Set(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]);

/** The fields signed, in order, for each message type (names sorted, as AWS builds the text). */
const SIGNED: Record<SnsMessage["Type"], readonly (keyof SnsMessage)[]> = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
  UnsubscribeConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
};

/**
 * Reads an SNS message: "missing" when it carries no signature at all, "malformed" when a field
 * the signature needs is absent or of the wrong kind.
 */
export function readSnsMessage(value: unknown): SnsMessage | "missing" | "malformed" {
  if (!isRecord(value)) return "missing";
  if (typeof value.Signature !== "string" || typeof value.SigningCertURL !== "string") return "missing";
  if (typeof value.Type !== "string" || !TYPES.has(value.Type)) return "malformed";
  if (value.SignatureVersion !== "1" && value.SignatureVersion !== "2") return "malformed";
  const type = value.Type as SnsMessage["Type"];
  for (const field of SIGNED[type]) {
    const v = value[field];
    if (field === "Subject" ? v !== undefined && v !== null && typeof v !== "string" : typeof v !== "string") return "malformed";
  }
  return value as unknown as SnsMessage;
}

/**
 * The text AWS signs: `Name\nvalue\n` for each signed field present, in the order above.
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
 */
export function snsStringToSign(m: SnsMessage): string {
  let out = "";
  for (const field of SIGNED[m.Type]) {
    const v = m[field];
    if (typeof v === "string") out += `${field}\n${v}\n`;
  }
  return out;
}

/** `*` in a host pattern stands for one DNS label; a port, if any, must match exactly. */
export function hostMatcher(patterns: readonly string[]): (url: string) => URL | undefined {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split("*")
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join("[a-z0-9-]+")}$`,
        "i",
      ),
  );
  return (text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    if (url.protocol !== "https:" || url.username !== "" || url.password !== "") return undefined;
    return res.some((re) => re.test(url.host)) ? url : undefined;
  };
}

/** `*` in a topic pattern stands for any run of characters (`arn:aws:sns:*:123456789012:*`). */
export function topicMatcher(patterns: readonly string[]): (arn: string) => boolean {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split("*")
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
      ),
  );
  return (arn) => res.some((re) => re.test(arn));
}
