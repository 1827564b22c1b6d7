import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, cleanupAfterEach, metric, post, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The relay protocol as another client would speak it (the README's "Relay protocol"): leases,
 * the batch limit, order of receipt, acks, and what a wrong token or a malformed ack gets.
 */

const SLOW = 60_000;

interface Pulled {
  lease: string;
  events: {
    ack: string;
    id: string;
    route: string;
    method: string;
    path: string;
    headers: Record<string, string>;
    query: Record<string, string>;
    body: string;
  }[];
}

describe("e2e: relay protocol", () => {
  const { track, later } = cleanupAfterEach();

  async function edge() {
    const dir = tempDir("switchyard-relay-proto-");
    const token = randomBytes(16).toString("hex");
    const old = randomBytes(16).toString("hex");
    const file = writeConfig(
      dir,
      `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets:
      - name: home
        type: relay
        path: /relay/home
        tokens: ["\${RELAY_TOKEN}", "\${OLD_TOKEN}"]
        timeout: 2s
        batch: 5
`,
    );
    const d = track(await startDaemon(file, { RELAY_TOKEN: token, OLD_TOKEN: old }));
    const auth = { Authorization: `Bearer ${token}` };
    const pull = async (query = "", headers: Record<string, string> = auth) => {
      const res = await fetch(`${d.url}/relay/home${query}`, { headers });
      return { status: res.status, body: (await res.json()) as Pulled };
    };
    const ack = (body: unknown) =>
      fetch(`${d.url}/relay/home/ack`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    return { d, token, old, auth, pull, ack };
  }

  it(
    "leases up to the batch limit in order of receipt, never the same event to two pulls, and settles only what the lease's holder acknowledges",
    async () => {
      const { d, pull, ack, old, token } = await edge();
      const bodies = Array.from({ length: 8 }, (_, i) => `{"n":${i},"s":"caf\\u00e9"}`);
      for (const [i, b] of bodies.entries()) expect((await post(`${d.url}/hooks/in?n=${i}`, b, { "x-test": `t${i}` })).status).toBe(202);
      await waitFor(
        async () =>
          (metric(await (await fetch(`${d.url}/metrics`)).text(), "switchyard_relay_lag_seconds", { route: "hooks", target: "home" }) ??
            0) > 0,
        "the lag gauge to show the waiting events",
      );

      const overview = (await (await fetch(`${d.url}/api/v1/routes`)).json()) as { routes: { targets: { relayLagSeconds?: number }[] }[] };
      expect(overview.routes[0]?.targets[0]?.relayLagSeconds).toBeGreaterThan(0);

      // Asking for 100 gets the batch limit, 5, oldest first, the request as received.
      const a = await pull("?max=100");
      expect(a.status).toBe(200);
      expect(a.body.events.map((e) => Buffer.from(e.body, "base64").toString())).toEqual(bodies.slice(0, 5));
      expect(a.body.events[0]).toMatchObject({ route: "hooks", method: "POST", path: "/hooks/in", query: { n: "0" } });
      expect(a.body.events[0]?.headers["x-test"]).toBe("t0");
      // A second puller (with the old token: rotation) gets the rest, not what the first holds.
      const b = await pull("?max=100", { Authorization: `Bearer ${old}` });
      expect(b.body.events.map((e) => Buffer.from(e.body, "base64").toString())).toEqual(bodies.slice(5));
      expect((await pull("?max=100&wait=0")).body.events).toEqual([]);

      // Acks under another lease are ignored; malformed ones get 400.
      expect((await ack({ lease: b.body.lease, acks: a.body.events.map((e) => e.ack) })).status).toBe(200);
      for (const bad of [{ lease: a.body.lease }, { acks: ["1"] }, { lease: a.body.lease, acks: [1] }, ["x"]])
        expect((await ack(bad)).status).toBe(400);
      const notJson = await fetch(`${d.url}/relay/home/ack`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body: "{nope",
      });
      expect(notJson.status).toBe(400);

      // b acknowledges its own; a does not: a's lease expires and its events come back, in order.
      expect((await ack({ lease: b.body.lease, acks: b.body.events.map((e) => e.ack) })).status).toBe(200);
      const again = await waitFor(
        async () => {
          const r = await pull("?max=100&wait=1");
          return r.body.events.length > 0 ? r : undefined;
        },
        "a's expired lease to hand its events out again",
        30_000,
      );
      expect(again.body.events.map((e) => e.id)).toEqual(a.body.events.map((e) => e.id));
      expect((await ack({ lease: again.body.lease, acks: again.body.events.map((e) => e.ack) })).status).toBe(200);
      const events = (await (await fetch(`${d.url}/api/v1/events?limit=20`)).json()) as unknown;
      expect(JSON.stringify(events)).not.toContain('"pending"');
      expect(
        metric(await (await fetch(`${d.url}/metrics`)).text(), "switchyard_relay_lag_seconds", { route: "hooks", target: "home" }),
      ).toBe(0);
    },
    SLOW,
  );

  it(
    "a waiting pull is answered when an event arrives; a wrong token gets 401 and is never logged; an unknown relay path 404",
    async () => {
      const { d, pull } = await edge();
      const waiting = pull("?wait=30");
      await new Promise((r) => setTimeout(r, 300));
      expect((await post(`${d.url}/hooks/in`, '{"late":true}')).status).toBe(202);
      const got = await waiting;
      expect(got.body.events.map((e) => Buffer.from(e.body, "base64").toString())).toEqual(['{"late":true}']);

      const wrong = `wrong-${randomBytes(12).toString("hex")}`;
      const refused = await fetch(`${d.url}/relay/home`, { headers: { Authorization: `Bearer ${wrong}` } });
      expect(refused.status).toBe(401);
      expect((await fetch(`${d.url}/relay/home`)).status).toBe(401);
      expect((await fetch(`${d.url}/relay/elsewhere`, { headers: { Authorization: `Bearer ${wrong}` } })).status).toBe(404);
      expect((await fetch(`${d.url}/relay/home`, { method: "POST" })).status).toBe(405);
      expect(JSON.stringify(d.logs)).not.toContain(wrong);
      expect(d.logs.some((l) => l.msg === "relay pull refused: wrong or missing token")).toBe(true);
    },
    SLOW,
  );

  it(
    "switchyard relay pull forwards each request byte for byte and acknowledges only after the local server answered 2xx",
    async () => {
      const { d, token } = await edge();
      const sink = track(await startSink());
      let up = false;
      sink.respond = (_req, res) => {
        res.writeHead(up ? 204 : 503).end();
      };
      const body = '{ "spaced" :  1,\n"x":"\\u00e9" }';
      expect((await post(`${d.url}/hooks/in`, body, { "x-hub-signature-256": "sha256=abc" })).status).toBe(202);
      const proc = spawn(process.execPath, [CLI, "relay", "pull", `${d.url}/relay/home`, "--to", `${sink.url}/hook`, "--wait", "1s"], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, SWITCHYARD_RELAY_TOKEN: token },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      proc.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
      const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
      later(async () => {
        proc.kill("SIGKILL");
        await exited;
      });
      // The local server is down (503): the event stays leased, then comes again once the lease expires.
      await waitFor(() => out.includes("did not answer 2xx"), "the first refused forward", 20_000);
      up = true;
      await waitFor(() => sink.requests.length > 0, "the forward once the local server is up", 30_000);
      const got = sink.requests[0];
      expect(got?.bytes.equals(Buffer.from(body))).toBe(true);
      expect(got?.url).toBe("/hook");
      expect(got?.headers["x-hub-signature-256"]).toBe("sha256=abc");
      await waitFor(
        async () => metric(await (await fetch(`${d.url}/metrics`)).text(), "switchyard_queue_depth", { state: "pending" }) === 0,
        "the edge to settle the acknowledged event",
      );
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).not.toContain(token);
    },
    SLOW,
  );
});
