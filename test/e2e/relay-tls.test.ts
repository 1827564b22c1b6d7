import { execFileSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, runCli, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * `server.tls`: an edge on a VPS serves HTTPS itself, the home pulls through it trusting the
 * certificate, and a renewed certificate is served after a reload without a restart. The
 * certificates are made here with openssl, for this run only.
 */

const SLOW = 60_000;

/** A home's config: pulls the edge at `https` (trusting `caFile`) into route `hooks`, whose own target never answers. */
function homeYaml(dir: string, https: string, caFile: string): string {
  return `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "home.db")} }
relays: [{ name: edge, url: "${https}/relay/home", token: "\${RELAY_TOKEN}", ca_file: ${caFile}, wait: 2s }]
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;
}

function makeCert(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]),
    { stdio: "ignore" },
  );
  return { cert, key };
}

function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.end();
      resolve(fp);
    });
    socket.once("error", reject);
  });
}

describe("e2e: relay over HTTPS", () => {
  const { track } = cleanupAfterEach();

  it(
    "the edge serves HTTPS from server.tls, the home pulls through it, and a reload serves a renewed certificate",
    async () => {
      const dir = tempDir("switchyard-relay-tls-");
      const first = makeCert(dir, "first");
      const second = makeCert(dir, "second");
      const bundle = join(dir, "trust.pem");
      writeFileSync(bundle, readFileSync(first.cert, "utf8") + readFileSync(second.cert, "utf8"));
      copyFileSync(first.cert, join(dir, "live.crt"));
      copyFileSync(first.key, join(dir, "live.key"));
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex") };
      const edgeFile = writeConfig(
        dir,
        `server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  tls: { cert_file: ./live.crt, key_file: ./live.key }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets: [{ name: home, type: relay, path: /relay/home, token: "\${RELAY_TOKEN}" }]
`,
        "edge.yaml",
      );
      const edge = track(await startDaemon(edgeFile, env));
      const port = Number(new URL(edge.url).port);
      const https = `https://127.0.0.1:${port}`;
      const homeFile = writeConfig(dir, homeYaml(dir, https, bundle), "home.yaml");
      const home = track(await startDaemon(homeFile, env));
      const trusting = new Agent({ connect: { ca: readFileSync(bundle, "utf8") } });
      const send = async (body: string) => {
        const res = await undiciFetch(`${https}/hooks/in`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          dispatcher: trusting,
        });
        expect(res.status).toBe(202);
      };
      const accepted = async () =>
        metric(await (await fetch(`${home.url}/metrics`)).text(), "switchyard_events_received_total", {
          route: "hooks",
          outcome: "accepted",
        });
      await send('{"n":1}');
      await waitFor(async () => (await accepted()) === 1, "the first event at home over HTTPS");
      expect(await servedFingerprint(port, readFileSync(bundle, "utf8"))).toBe(
        new X509Certificate(readFileSync(first.cert)).fingerprint256,
      );

      // certbot renews: new files in place, then a reload (SIGHUP) serves them on new connections.
      copyFileSync(second.cert, join(dir, "live.crt"));
      copyFileSync(second.key, join(dir, "live.key"));
      edge.proc.kill("SIGHUP");
      await waitFor(() => edge.logs.some((l) => l.msg === "config reloaded" && l.trigger === "SIGHUP"), "the reload");
      expect(await servedFingerprint(port, readFileSync(bundle, "utf8"))).toBe(
        new X509Certificate(readFileSync(second.cert)).fingerprint256,
      );
      await send('{"n":2}');
      await waitFor(async () => (await accepted()) === 2, "the second event at home after the renewal");
      await trusting.close();
    },
    SLOW,
  );

  it(
    "a reload reads the relay's ca_file again: a home that trusted the wrong certificate pulls once the file names the right one",
    async () => {
      const dir = tempDir("switchyard-relay-ca-");
      const edgeCert = makeCert(dir, "edge");
      const other = makeCert(dir, "other");
      const trust = join(dir, "trust.pem");
      copyFileSync(other.cert, trust);
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex") };
      const edge = track(
        await startDaemon(
          writeConfig(
            dir,
            `server:
  listen: 127.0.0.1:0
  tls: { cert_file: ${edgeCert.cert}, key_file: ${edgeCert.key} }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets: [{ name: home, type: relay, path: /relay/home, token: "\${RELAY_TOKEN}" }]
`,
            "edge.yaml",
          ),
          env,
        ),
      );
      const https = `https://127.0.0.1:${new URL(edge.url).port}`;
      const home = track(await startDaemon(writeConfig(dir, homeYaml(dir, https, trust), "home.yaml"), env));
      await waitFor(() => home.logs.some((l) => l.msg === "relay pull failed; reconnecting"), "the home to refuse the edge's certificate");
      // The edge's certificate goes into the same file; the config does not change.
      copyFileSync(edgeCert.cert, trust);
      home.proc.kill("SIGHUP");
      await waitFor(() => home.logs.some((l) => l.msg === "config reloaded" && l.trigger === "SIGHUP"), "the reload");
      const trusting = new Agent({ connect: { ca: readFileSync(edgeCert.cert, "utf8") } });
      const res = await undiciFetch(`${https}/hooks/in`, {
        method: "POST",
        body: '{"n":1}',
        headers: { "content-type": "application/json" },
        dispatcher: trusting,
      });
      expect(res.status).toBe(202);
      await waitFor(
        async () =>
          metric(await (await fetch(`${home.url}/metrics`)).text(), "switchyard_events_received_total", {
            route: "hooks",
            outcome: "accepted",
          }) === 1,
        "the event at home once the CA file was read again",
        30_000,
      );
      await trusting.close();
    },
    SLOW,
  );

  it(
    "check warns when a relay target is served over plain HTTP on an address others can reach, and not with server.tls",
    async () => {
      const dir = tempDir("switchyard-relay-check-");
      const { cert, key } = makeCert(dir, "edge");
      const config = (tls: string) => `server:
  listen: 0.0.0.0:18080
  admin: 127.0.0.1:19090
  admin_token: "\${ADMIN_TOKEN}"${tls}
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets: [{ name: home, type: relay, path: /relay/home, token: "\${RELAY_TOKEN}" }]
`;
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex"), ADMIN_TOKEN: randomBytes(16).toString("hex") };
      const plain = await runCli(["check", "-c", writeConfig(dir, config(""), "plain.yaml")], env);
      expect(plain.code).toBe(0);
      expect(plain.stdout + plain.stderr).toMatch(/routes\[0\]\.targets\[0\]\.path.*plain HTTP/);
      const secure = await runCli(
        ["check", "-c", writeConfig(dir, config(`\n  tls: { cert_file: ${cert}, key_file: ${key} }`), "tls.yaml")],
        env,
      );
      expect(secure.code).toBe(0);
      expect(secure.stdout + secure.stderr).not.toContain("plain HTTP");
      // A key that is not the certificate's is an error check reports.
      const other = makeCert(dir, "other");
      const mismatched = await runCli(
        ["check", "-c", writeConfig(dir, config(`\n  tls: { cert_file: ${cert}, key_file: ${other.key} }`), "bad.yaml")],
        env,
      );
      expect(mismatched.code).toBe(1);
      expect(mismatched.stdout + mismatched.stderr).toContain("server.tls.cert_file");
      // A home whose ca_file cannot be read is told so by check, not by a puller that never connects.
      const home = writeConfig(
        dir,
        `relays: [{ name: edge, url: "https://127.0.0.1:1/relay/home", token: "\${RELAY_TOKEN}", ca_file: ./missing.pem }]
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`,
        "home.yaml",
      );
      const missingCa = await runCli(["check", "-c", home], env);
      expect(missingCa.code).toBe(1);
      expect(missingCa.stdout + missingCa.stderr).toMatch(/relays\[0\]\.ca_file.*cannot read/);
    },
    SLOW,
  );
});
