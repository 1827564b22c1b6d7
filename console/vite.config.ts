import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The admin console: built into dist/console, which the admin listener serves. The libraries are
 * bundled here at build time, so the package ships the built files and no browser ever fetches
 * anything from outside the daemon (homelabs are often offline).
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // The admin router serves the hashed files under /console/assets/ and index.html at `/`.
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // Content-Security-Policy `default-src 'self'`: no inline script, so no inlined polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
