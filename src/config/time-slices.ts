/**
 * Long work on the daemon's thread, cut into slices: `turn()` gives a promise to await when the
 * current slice has run `sliceMs`, so that requests get the event loop in between, and nothing
 * otherwise (the work goes on without a microtask per step).
 */
export function timeSlices(sliceMs: number): () => Promise<void> | undefined {
  let start = performance.now();
  return () => {
    if (performance.now() - start < sliceMs) return undefined;
    return new Promise<void>((resume) =>
      setImmediate(() => {
        start = performance.now();
        resume();
      }),
    );
  };
}
