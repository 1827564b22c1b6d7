import { createHash } from "node:crypto";
import { type Dirent, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type Router from "@koa/router";
import type Koa from "koa";

/**
 * The web console's built files (`npm run build` puts them in dist/console), served by the admin
 * router: index.html at `/`, the hashed bundles under /console/assets/. They are
 * read and gzipped once at start (about 50 KB), so serving one costs no disk read.
 *
 * The page itself holds no data, so it is served without the admin token: the API under it
 * asks for the token (401), and the page then asks the user.
 */

export interface ConsoleFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
  /** Hashed file names never change content: cache them for a year. index.html: always revalidate. */
  immutable: boolean;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/** Where the build puts the console: dist/console, seen from dist/src/server or from src/server. */
export function consoleDir(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(here.includes(`${join("dist", "src")}`) ? "../../console/" : "../../dist/console/", import.meta.url));
}

/** Every built file by URL path (`/console/assets/index-abc.js`); empty when the console was never built. */
export function loadConsoleFiles(dir = consoleDir()): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        const body = readFileSync(join(dir, path));
        const hashed = path.startsWith("assets/");
        files.set(`/console/${path}`, {
          body,
          gzip: gzipSync(body, { level: 9 }),
          type: TYPES[extname(path)] ?? "application/octet-stream",
          immutable: hashed,
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        });
      }
    }
  };
  walk("");
  return files;
}

function send(ctx: Koa.Context, file: ConsoleFile): void {
  ctx.set("Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  ctx.set("Vary", "Accept-Encoding");
  ctx.etag = file.etag;
  ctx.type = file.type;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  if (ctx.acceptsEncodings("gzip", "identity") === "gzip") {
    ctx.set("Content-Encoding", "gzip");
    ctx.body = file.gzip;
  } else ctx.body = file.body;
}

/**
 * Mounts the console on the admin router, whose middleware adds the security headers every
 * admin answer carries (Content-Security-Policy `default-src 'self'`, no framing, no sniffing).
 */
export function mountConsole(router: Router, files = loadConsoleFiles()): void {
  const index = files.get("/console/index.html");
  const page: Koa.Middleware = async (ctx) => {
    if (!index) {
      ctx.status = 503;
      ctx.type = "text/plain";
      ctx.body = "The console is not built: run `npm run build` (the API is at /api/v1/).\n";
      return;
    }
    send(ctx, index);
  };
  router.get("/", page);
  router.get("/console", page);
  router.get("/console/", page);
  router.get("/console/*file", async (ctx, next) => {
    const file = files.get(ctx.path);
    if (!file) return next();
    send(ctx, file);
  });
}
