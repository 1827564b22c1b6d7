#!/usr/bin/env node
import { tuneHeap } from "./heap-tuning.js";

// Before anything else loads: loading the CLI's modules is itself enough to grow the young
// generation to its largest, which the heap flags are there to prevent.
tuneHeap();
const { EXIT_INTERNAL, run } = await import("./cli/index.js");

/** A bug, or an I/O failure nothing expected: say so with the stack, and exit 70 (EX_SOFTWARE). */
function unexpected(err: unknown): never {
  const e = err instanceof Error ? err : new Error(String(err));
  try {
    process.stderr.write(`switchyard: unexpected error: ${e.stack ?? e.message}\n`);
  } catch {
    // stderr itself is broken: the exit code is all that is left to tell.
  }
  process.exit(EXIT_INTERNAL);
}

// `switchyard events | head`: the reader may go away before the output ends. What is left to
// print has no one to read it, so it is dropped quietly and the verb ends with its own exit
// code, instead of the process dying on EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") unexpected(err);
  });
}
// Without this, Node exits 1 on an uncaught error: the code of a user error.
process.on("uncaughtException", unexpected);

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`switchyard: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = EXIT_INTERNAL;
  },
);
