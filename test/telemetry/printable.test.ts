import { describe, expect, it } from "vitest";
import { formatPretty } from "../../src/telemetry/pretty.js";
import { printable } from "../../src/telemetry/printable.js";

describe("printable", () => {
  it("shows terminal control characters escaped and leaves text, tabs, newlines and other scripts alone", () => {
    expect(printable("push to main\tok\nnext line: é ✓ 日本")).toBe("push to main\tok\nnext line: é ✓ 日本");
    // ESC (an ANSI sequence clearing the screen), CSI (C1), DEL, NUL, carriage return, bell.
    expect(printable("a\u001b[2Jb\u009b31mc\u007fd\u0000e\rf\u0007")).toBe("a\\u001b[2Jb\\u009b31mc\\u007fd\\u0000e\\u000df\\u0007");
  });
});

describe("LOG_FORMAT=pretty", () => {
  it("shows escape sequences from outside (an error page, a command's output) escaped, in the message and in fields", () => {
    const line = JSON.stringify({
      level: "warn",
      time: "2026-12-01T12:00:01.000Z",
      msg: "delivery failed: \u001b]0;owned\u0007",
      error: "\u001b[2J",
      stdout: "a b \u001b[31mred",
    });
    const out = formatPretty(line);
    expect(out.includes("\u001b") || out.includes("\u0007")).toBe(false);
    expect(out).toContain("\\u001b]0;owned\\u0007");
    expect(out).toContain("error=\\u001b[2J");
  });
});
