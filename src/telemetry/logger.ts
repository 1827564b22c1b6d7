import pino, { type Logger } from "pino";
import { verifiers } from "../plugins/verifiers/index.js";
import { prettyStream } from "./pretty.js";

/**
 * JSON lines on stdout. Nothing here logs request headers or bodies; the redaction list is a
 * second line of defence should a future log call pass one along.
 */
export const REDACTED_PATHS = [
  "secret",
  "secrets",
  "*.secret",
  "*.secrets",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  // The headers in which a scheme receives its credential itself (GitLab's token).
  ...[...new Set(verifiers.flatMap((v) => v.credentialHeaders))].flatMap((h) => [
    `headers[${JSON.stringify(h)}]`,
    `*.headers[${JSON.stringify(h)}]`,
  ]),
];

export function createLogger(level = process.env.SWITCHYARD_LOG_LEVEL ?? "info", destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "switchyard" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? (process.env.LOG_FORMAT === "pretty" ? prettyStream() : pino.destination({ dest: 1, sync: false })),
  );
}
