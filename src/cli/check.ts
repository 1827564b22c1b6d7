import { ConfigError, formatIssue } from "../errors.js";
import { configPath, loadForCli, print } from "./common.js";

/** `switchyard check`: the load+compile that `serve` runs, reporting every problem at once. */
export function check(options: { config?: string; listen?: string; admin?: string; json?: boolean }): number {
  const file = configPath(options.config);
  try {
    const config = loadForCli(file, { listen: options.listen, admin: options.admin });
    if (options.json) {
      print(JSON.stringify({ ok: true, file, routes: config.routes.length, issues: config.warnings }));
    } else {
      for (const w of config.warnings) print(`warning: ${formatIssue(file, w)}`);
      const targets = config.routes.reduce((n, r) => n + r.targets.length, 0);
      print(
        `${file}: ok (${config.routes.length} route${config.routes.length === 1 ? "" : "s"}, ${targets} target${targets === 1 ? "" : "s"})`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (options.json) {
      print(JSON.stringify({ ok: false, file, issues: err.issues }));
    } else {
      // In file order, so the list reads alongside the file; problems of the whole file first.
      const ordered = [...err.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      for (const issue of ordered) process.stderr.write(`${issue.severity}: ${formatIssue(file, issue)}\n`);
      const n = err.issues.filter((i) => i.severity === "error").length;
      process.stderr.write(`${file}: ${n} error${n === 1 ? "" : "s"}\n`);
    }
    return 1;
  }
}
