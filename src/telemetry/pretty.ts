import { Writable } from "node:stream";
import { printable } from "./printable.js";

/**
 * LOG_FORMAT=pretty: one readable line per log record for a human at a terminal,
 * `12:00:01 INFO  event accepted route=github eventId=…`. JSON stays the default: it is what
 * log shippers parse.
 */
const HIDDEN = new Set(["level", "time", "msg", "service"]);

export function formatPretty(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "";
  const level = String(record.level ?? "")
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(record)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
  // Error texts and command output come from outside: no escape sequence reaches the terminal.
  return `${time} ${level} ${printable(`${String(record.msg ?? "")}${fields ? ` ${fields}` : ""}`)}\n`;
}

export function prettyStream(out: NodeJS.WritableStream = process.stdout): Writable {
  let pending = "";
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) if (l) out.write(formatPretty(l));
      done();
    },
  });
}
