import { Daemon } from "../daemon.js";
import { createLogger } from "../telemetry/logger.js";
import { configPath } from "./common.js";

/** `switchyard serve`: runs until SIGTERM/SIGINT (drain, exit 0); SIGHUP or a file change reloads. */
export async function serve(options: { config?: string; listen?: string; admin?: string }): Promise<number> {
  const log = createLogger();
  const overrides = { listen: options.listen, admin: options.admin };
  const daemon = await Daemon.start({ configFile: configPath(options.config), log, overrides });
  process.on("SIGHUP", () => void daemon.reloadNow());
  return new Promise((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, "signal received");
      daemon.stop().then(
        () => resolve(0),
        (err: Error) => {
          log.error({ err: err.message }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}
