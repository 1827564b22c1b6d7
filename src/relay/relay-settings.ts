import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { formatAddress, isLoopback, type ListenAddress } from "../config/addresses.js";
import type { CompiledRoute, CompiledTarget } from "../config/compile-route.js";
import type { Path } from "../config/interpolate.js";
import { SecretField } from "../config/marks.js";
import { DURATION_PATTERN, parseDuration } from "../config/units.js";
import { RELAY_BATCH_DEFAULT, RELAY_BATCH_MAX } from "../plugins/targets/relay/relay.js";

/** How long a pull waits for an event when none is waiting, unless the relay says otherwise. */
export const RELAY_WAIT_DEFAULT = "25s";
/** The longest wait the edge grants: proxies commonly cut idle requests after 60 s. */
export const RELAY_WAIT_MAX_MS = 55_000;

export const RelaySchema = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z0-9_-]+$", maxLength: 64, description: "unique; the `relay` label of the relay metrics" }),
    url: Type.String({
      pattern: "^https?://",
      description: "the edge's relay target: its listener's address and the target's `path` (`https://edge.example.com/relay/home`)",
    }),
    token: SecretField("value", Type.String({ minLength: 16, description: "one of the edge target's tokens (write `${RELAY_TOKEN}`)" })),
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: RELAY_BATCH_MAX,
        default: RELAY_BATCH_DEFAULT,
        description: "events asked for per pull (the edge hands out at most its target's `batch`)",
      }),
    ),
    wait: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        default: RELAY_WAIT_DEFAULT,
        description:
          "how long a pull waits at the edge for an event to arrive (long polling; at most 55s); a connection silent for one and a half times this plus 2s is taken as stalled and made again",
      }),
    ),
    ca_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "a PEM certificate to trust for the edge's HTTPS besides the system's (a self-signed edge), relative to the config file's folder; read again on reload",
      }),
    ),
  },
  { additionalProperties: false },
);

export type RelayConfig = Static<typeof RelaySchema>;

export interface RelaySettings {
  name: string;
  url: string;
  token: string;
  batch: number;
  waitMs: number;
  caFile?: string;
  /**
   * The CA file's content hash: a reload compares settings to decide which pullers to restart,
   * and a renewed certificate in the same file must restart its puller, which reads it anew.
   */
  caSha256?: string;
}

/** A relay target as its endpoint serves it. */
export interface RelayEndpoint {
  route: CompiledRoute;
  target: CompiledTarget;
}

type Issue = (path: Path, message: string, severity?: "error" | "warning") => void;

export function compileRelays(relays: readonly RelayConfig[] | undefined, dir: string, issue: Issue): RelaySettings[] {
  const out: RelaySettings[] = [];
  const names = new Set<string>();
  for (const [i, r] of (relays ?? []).entries()) {
    if (typeof r?.name !== "string" || typeof r.url !== "string" || typeof r.token !== "string") continue;
    if (names.has(r.name)) issue(["relays", i, "name"], `${r.name} is already the name of another relay`);
    names.add(r.name);
    const waitMs = parseDuration(r.wait ?? RELAY_WAIT_DEFAULT);
    if (waitMs > RELAY_WAIT_MAX_MS) issue(["relays", i, "wait"], "must be at most 55s (proxies cut idle requests at 60s)");
    try {
      new URL(r.url);
    } catch {
      issue(["relays", i, "url"], "is not a URL");
    }
    const caFile = r.ca_file === undefined ? undefined : resolve(dir, r.ca_file);
    let caSha256: string | undefined;
    if (caFile !== undefined) {
      try {
        const pem = readFileSync(caFile, "utf8");
        caSha256 = createHash("sha256").update(pem).digest("hex");
        if (!pem.includes("-----BEGIN CERTIFICATE-----")) issue(["relays", i, "ca_file"], `${caFile} holds no PEM certificate`);
      } catch (err) {
        issue(["relays", i, "ca_file"], `cannot read ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    out.push({
      name: r.name,
      url: r.url,
      token: r.token,
      batch: r.batch ?? RELAY_BATCH_DEFAULT,
      waitMs,
      ...(caFile ? { caFile } : {}),
      ...(caSha256 ? { caSha256 } : {}),
    });
  }
  return out;
}

/**
 * The relay targets by path. A relay path must not be a route's path (nor its `/ack`), and one
 * served over plain HTTP on an address others can reach hands its token to anyone on the way.
 */
export function relayPaths(
  routes: readonly CompiledRoute[],
  byPath: ReadonlyMap<string, CompiledRoute>,
  issue: Issue,
  listen: ListenAddress,
  tls: boolean,
): Map<string, RelayEndpoint> {
  const map = new Map<string, RelayEndpoint>();
  for (const route of routes) {
    route.targets.forEach((target, j) => {
      const pulled = target.target.pulled;
      if (!pulled) return;
      const at = [...placePath(route.where), "targets", j, "path"];
      const clash = byPath.get(pulled.path) ?? byPath.get(`${pulled.path}/ack`);
      const other = map.get(pulled.path);
      if (clash) issue(at, `${pulled.path} is taken by route ${clash.name}`);
      else if (other) issue(at, `${pulled.path} is already the path of relay target ${other.route.name}/${other.target.name}`);
      else map.set(pulled.path, { route, target });
      if (!tls && !isLoopback(listen.host)) {
        issue(
          at,
          `served over plain HTTP on ${formatAddress(listen)}: the puller's token and every relayed webhook cross the network readable; set server.tls or put an HTTPS proxy in front`,
          "warning",
        );
      }
    });
  }
  return map;
}

/** `routes[3]` → ["routes", 3]. */
function placePath(where: string): Path {
  const m = /^routes\[(\d+)\]$/.exec(where);
  return m ? ["routes", Number(m[1])] : [where];
}
