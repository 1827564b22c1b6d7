import { resolve } from "node:path";

/** This file runs as dist/bench/paths.js: the repository root is two folders up. */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLI = resolve(REPO_ROOT, "dist/src/main.js");
/** Sibling programs the bench runs as child processes (compiled next to this file). */
export const BASELINE_SERVER = resolve(import.meta.dirname, "baseline-server.js");
export const DURABLE_BASELINE_SERVER = resolve(import.meta.dirname, "durable-baseline-server.js");
export const SINK_SERVER = resolve(import.meta.dirname, "sink-server.js");
export const RESULTS_DIR = resolve(REPO_ROOT, "bench/results");
export const FIXTURE = resolve(REPO_ROOT, "test/fixtures/github-push.json");
