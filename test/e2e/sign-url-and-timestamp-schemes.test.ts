import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Finished,
  finished,
  type RunningDaemon,
  runCli,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * `switchyard sign` for the URL-signed and timestamped HMAC schemes: its curl line, run by `sh`
 * exactly as printed against the built daemon, is accepted and delivered. Twilio's JSON body is
 * signed through the `bodySHA256` query parameter the line carries; Mailgun's signature block is
 * added to the body. The URL-signed routes' `url` is the public address, not the local one.
 */

interface Case {
  route: string;
  verify: string;
  body: unknown;
}

const cases: Case[] = [
  {
    route: "twilio",
    verify: `{ type: twilio, secret: tw, url: "https://hooks.example.com/hooks/twilio?site=lab" }`,
    body: { Sid: "SM1", EventType: "delivered" },
  },
  {
    route: "square",
    verify: `{ type: square, secret: sq, url: "https://hooks.example.com/hooks/square" }`,
    body: { event_id: "e-1", type: "payment.created" },
  },
  { route: "zoom", verify: "{ type: zoom, secret: zm }", body: { event: "meeting.started", payload: { object: { id: "1" } } } },
  {
    route: "twitch",
    verify: "{ type: twitch, secret: tw-eventsub-secret }",
    body: { subscription: { type: "channel.follow" }, event: { user_id: "1" } },
  },
  { route: "paddle", verify: "{ type: paddle, secret: pdl_ntfset_x }", body: { event_id: "evt_1", event_type: "transaction.completed" } },
  { route: "tailscale", verify: "{ type: tailscale, secret: ts }", body: [{ type: "nodeCreated", tailnet: "example.com" }] },
  { route: "calendly", verify: "{ type: calendly, secret: cal }", body: { event: "invitee.created", payload: {} } },
  {
    route: "hubspot",
    verify: `{ type: hubspot, secret: hs, url: "https://hooks.example.com/hooks/hubspot" }`,
    body: [{ eventId: 1, subscriptionType: "contact.creation" }],
  },
  { route: "mailgun", verify: "{ type: mailgun, secret: key-mg }", body: { "event-data": { id: "ev-1", event: "delivered" } } },
];

function shell(line: string, cwd: string): Promise<Finished> {
  return finished(spawn("sh", ["-c", line], { cwd, stdio: ["ignore", "pipe", "pipe"] }));
}

describe("e2e: sign for URL-signed and timestamped schemes", () => {
  let dir: string;
  let sink: Sink;
  let daemon: RunningDaemon;
  let config: string;

  beforeAll(async () => {
    dir = tempDir();
    sink = await startSink();
    const routes = cases
      .map(
        (c) => `
  - name: ${c.route}
    path: /hooks/${c.route}
    verify: ${c.verify}
    dedupe: true
    targets: [{ name: sink, type: http, url: "${sink.url}/${c.route}" }]`,
      )
      .join("");
    config = writeConfig(dir, `server: { listen: 127.0.0.1:0 }\nstore: { path: ./data/switchyard.db }\nroutes:${routes}\n`);
    daemon = await startDaemon(config);
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  it.each(cases)("a $route route accepts and delivers what sign prints", async (c) => {
    const file = join(dir, `${c.route}.json`);
    writeFileSync(file, JSON.stringify(c.body));
    const signed = await runCli(["sign", c.route, "-c", config, "--body", file, "--url", daemon.url]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const curl = signed.stdout.trim().split("\n").at(-1) ?? "";
    const sent = await shell(curl, dir);
    expect(sent.stderr).toBe("");
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: "accepted" });
    await waitFor(() => sink.requests.some((r) => r.url === `/${c.route}`), `the ${c.route} delivery`, 20_000);
  });

  it("refuses the same line once its body is changed, with a 401 and the reason in the log", async () => {
    const file = join(dir, "zoom.json");
    writeFileSync(file, JSON.stringify({ event: "meeting.ended", payload: { object: { id: "2" } } }));
    const signed = await runCli(["sign", "zoom", "-c", config, "--body", file, "--url", daemon.url]);
    writeFileSync(file, JSON.stringify({ event: "meeting.ended", payload: { object: { id: "3" } } }));
    const sent = await shell(`${signed.stdout.trim().split("\n").at(-1)} -o /dev/null -w '%{http_code}'`, dir);
    expect(sent.stdout).toBe("401");
    await waitFor(() => daemon.logs.find((l) => l.route === "zoom" && l.reason === "signature_mismatch"), "the refusal in the log");
  });
});
