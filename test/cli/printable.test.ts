import { describe, expect, it } from "vitest";
import { printable } from "../../src/cli/printable.js";

describe("printable", () => {
  it("shows terminal control characters escaped and leaves text, tabs, newlines and other scripts alone", () => {
    expect(printable("push to main\tok\nnext line: é ✓ 日本")).toBe("push to main\tok\nnext line: é ✓ 日本");
    // ESC (an ANSI sequence clearing the screen), CSI (C1), DEL, NUL, carriage return, bell.
    expect(printable("a\u001b[2Jb\u009b31mc\u007fd\u0000e\rf\u0007")).toBe("a\\u001b[2Jb\\u009b31mc\\u007fd\\u0000e\\u000df\\u0007");
  });
});
