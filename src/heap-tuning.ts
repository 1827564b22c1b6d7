import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/**
 * V8's defaults size the heap for throughput on a desktop: the young generation grows to two
 * 16 MiB semi-spaces (loading the CLI's modules alone grows it that far), and the old
 * generation is let grow to several times what is live before a full collection. A daemon
 * whose live heap is about 30 MiB then peaked at 220 MiB resident under a burst of webhooks.
 *
 * Here the old generation is collected once it has grown by a quarter, and the young one is
 * held at 4 MiB semi-spaces: under the bench's burst the peak is about 135 MiB, for 5-10 % more
 * CPU per request in collections. A 1 MiB young generation saved 5 MiB more but cost a quarter
 * more CPU (BENCHMARKS.md, "Memory").
 *
 * Only flags that V8 reads at each collection can be set once the heap exists, so the cap on
 * the young generation is a growth factor switched as it grows: 1 while the modules load, then
 * one step to the cap once the process runs, then 1 again. `--max-semi-space-size` would be
 * simpler but is read once, when the heap is made, i.e. only from node's command line.
 */
export const YOUNG_SEMI_SPACE_MIB = 4;
export const OLD_GROWTH_PERCENT = 25;

/** A user who tunes V8's heap (node flags or NODE_OPTIONS) keeps exactly their settings. */
const USER_TUNED =
  /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor|--heap[-_]growing[-_]percent|--optimize[-_]for[-_]size/;

const MiB = 2 ** 20;

/** Both semi-spaces: what V8 reports as the new space's size. */
function youngBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/**
 * Applies the heap settings unless the process was started with heap flags of the user's own;
 * says whether it did. Call it before the CLI's modules load (main.ts imports them after it).
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): boolean {
  if (USER_TUNED.test(`${execArgv.join(" ")} ${nodeOptions}`)) return false;
  setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`);
  setFlagsFromString("--semi-space-growth-factor=1");
  const cap = 2 * YOUNG_SEMI_SPACE_MIB * MiB;
  let factor = 1;
  // Collections are reported after the fact, never during the synchronous module loading: the
  // young generation stays at its initial size until the process runs, then may grow by the
  // one factor that reaches the cap (and again after V8 shrank it while idle).
  const observer = new PerformanceObserver(() => {
    const size = youngBytes();
    const wanted = size > 0 && size < cap ? Math.max(2, Math.floor(cap / size)) : 1;
    if (wanted === factor) return;
    factor = wanted;
    setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  });
  observer.observe({ entryTypes: ["gc"] });
  return true;
}
