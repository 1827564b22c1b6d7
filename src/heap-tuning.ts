import { setFlagsFromString } from "node:v8";

/**
 * V8's defaults size the heap for throughput on a desktop: the young generation grows to two
 * 16 MiB semi-spaces (loading the CLI's modules alone grows it that far), and the old
 * generation is let grow to several times what is live before a full collection. A daemon
 * whose live heap is about 30 MiB then peaked at 220 MiB resident under a burst of webhooks.
 * Keeping the young generation at its initial 1 MiB semi-space and collecting the old one once
 * it has grown by a quarter brings that burst's peak to about 130 MiB, for a few percent more
 * CPU per request (BENCHMARKS.md, "Memory").
 *
 * Both flags are ones V8 reads at each collection, so setting them here works even though the
 * heap already exists; `--max-semi-space-size` would not (it is read once, when the heap is
 * made). This must run before the CLI's modules load, hence main.ts imports the CLI after it.
 */
export const HEAP_FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=25"] as const;

/** A user who tunes V8's heap (node flags or NODE_OPTIONS) keeps exactly their settings. */
const USER_TUNED =
  /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor|--heap[-_]growing[-_]percent|--optimize[-_]for[-_]size/;

/** Applies HEAP_FLAGS unless the process was started with heap flags of the user's own; says which. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): boolean {
  if (USER_TUNED.test(`${execArgv.join(" ")} ${nodeOptions}`)) return false;
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
  return true;
}
