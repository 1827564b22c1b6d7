#!/usr/bin/env node
import { run } from "./cli/index.js";

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`switchyard: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = 70;
  },
);
