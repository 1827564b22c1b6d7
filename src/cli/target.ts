import { UserError } from "../errors.js";
import { printable } from "../telemetry/printable.js";
import { print, withStore } from "./common.js";

/**
 * `switchyard target list` / `target resume ROUTE/TARGET`: the targets paused after failing for a
 * stretch (`pause_after`). Target names are unique within their route, so a target is named as
 * `dlq list` shows it: route/target. A running daemon sees a resume within a second.
 */

function parseName(name: string): { route: string; target: string } {
  const m = /^([a-z0-9_-]+)\/([a-z0-9_-]+)$/.exec(name);
  if (!m?.[1] || !m[2]) throw new UserError(`${JSON.stringify(name)}: name the target as ROUTE/TARGET (switchyard target list shows them)`);
  return { route: m[1], target: m[2] };
}

export async function targetList(options: { config?: string; json?: boolean }): Promise<number> {
  return withStore(options.config, "read", async (store) => {
    const paused = await store.pausedTargets();
    if (options.json) {
      print(
        JSON.stringify(
          paused.map((p) => ({ ...p, since: new Date(p.since).toISOString() })),
          null,
          2,
        ),
      );
      return 0;
    }
    if (paused.length === 0) {
      print("no target is paused");
      return 0;
    }
    for (const p of paused) {
      print(`${p.route}/${p.target}  paused since ${new Date(p.since).toISOString()}`);
      print(printable(`    ${p.error}`));
    }
    print(`${paused.length} paused target${paused.length === 1 ? "" : "s"}; resume with: switchyard target resume ROUTE/TARGET`);
    return 0;
  });
}

export async function targetResume(name: string, options: { config?: string }): Promise<number> {
  const key = parseName(name);
  return withStore(options.config, "write", async (store) => {
    if (await store.resumeTarget(key)) {
      print(`${name} resumed; its waiting deliveries go out now`);
      return 0;
    }
    const paused = (await store.pausedTargets()).map((p) => `${p.route}/${p.target}`);
    throw new UserError(`${name} is not paused (paused: ${paused.join(", ") || "none"})`);
  });
}
