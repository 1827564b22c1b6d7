import pino, { type Logger } from "pino";
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
  'headers["x-gitlab-token"]',
  "*.headers.authorization",
  '*.headers["x-gitlab-token"]',
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
