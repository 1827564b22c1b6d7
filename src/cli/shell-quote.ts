/** Single-quotes a word for a POSIX shell, so a printed command means what it says when pasted. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
