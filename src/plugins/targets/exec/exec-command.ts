import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Why an exec command could not run, or undefined when it can. */
export function commandProblem(command: string, dir: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = command.includes("/")
    ? [isAbsolute(command) ? command : resolve(dir, command)]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((p) => join(p, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return undefined;
    } catch {}
  }
  if (command.includes("/") && candidates[0]) {
    try {
      accessSync(candidates[0], constants.F_OK);
      return `command is not executable: ${candidates[0]}`;
    } catch {
      return `command not found: ${candidates[0]}`;
    }
  }
  return `command not found on PATH: ${command}`;
}
