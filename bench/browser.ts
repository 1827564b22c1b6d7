import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (no browser download): `.ci/run` installs it with
 * apt when /usr/bin/chromium is missing. The flags keep it off the network and quiet on a CI box.
 * The console's browser tests and `npm run screenshots` both start it here.
 */
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
