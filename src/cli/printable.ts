/** Control characters (Unicode Cc: C0, DEL and C1) other than tab and newline. */
const CONTROL = /[^\P{Cc}\t\n]/gu;

/**
 * Text for a terminal: stored requests and targets' error texts come from outside, and an escape
 * sequence in a body, a header or an error page must not reach the terminal of the person
 * reading them (it could rewrite the screen or the window title). Shown as \u001b instead.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
