import { execFileSync } from "node:child_process";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate made by the real openssl, as files and PEM text. */
function selfSigned(
  dir: string,
  name: string,
  subject: string,
  san?: string,
): { certFile: string; keyFile: string; cert: string; key: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subject, "-keyout", keyFile, "-out", certFile];
  if (san) args.push("-addext", `subjectAltName=${san}`);
  execFileSync("openssl", args, { stdio: "ignore" });
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

export interface SnsFixture {
  dir: string;
  /** The local "SNS" host, `127.0.0.1:port`, for `cert_hosts`. */
  host: string;
  /** The TLS certificate of that host: what clients must trust (NODE_EXTRA_CA_CERTS, or an agent's `ca`). */
  tlsCertFile: string;
  tlsCert: string;
  /** The message-signing key (and its file, for `sign --private-key`), and the URL of its certificate. */
  signingKey: KeyObject;
  signingKeyFile: string;
  certUrl: string;
  /** A SubscribeURL on the local host; each GET of it is counted in `confirmations`. */
  subscribeUrl: string;
  confirmations: string[];
  /** Requests for the certificate, to show it is cached. */
  certFetches: number;
  close(): Promise<void>;
}

/**
 * A local stand-in for SNS's HTTPS hosts: serves a signing certificate and counts subscription
 * confirmations, over TLS with a certificate of its own for 127.0.0.1.
 */
export async function startSnsFixture(): Promise<SnsFixture> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-sns-"));
  const tls = selfSigned(dir, "tls", "/CN=127.0.0.1", "IP:127.0.0.1");
  const signing = selfSigned(dir, "signing", "/CN=sns.amazonaws.com");
  writeFileSync(join(dir, "signing.pem"), signing.key);
  const state = { confirmations: [] as string[], certFetches: 0 };
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    if (req.url === "/SimpleNotificationService-local.pem") {
      state.certFetches++;
      res.writeHead(200, { "content-type": "application/x-pem-file" }).end(signing.cert);
    } else if (req.url?.startsWith("/?Action=ConfirmSubscription")) {
      state.confirmations.push(req.url);
      res.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dir,
    host,
    tlsCertFile: tls.certFile,
    tlsCert: tls.cert,
    signingKey: createPrivateKey(signing.key),
    signingKeyFile: join(dir, "signing.pem"),
    certUrl: `https://${host}/SimpleNotificationService-local.pem`,
    subscribeUrl: `https://${host}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:alerts&Token=2336412f37`,
    get confirmations() {
      return state.confirmations;
    },
    get certFetches() {
      return state.certFetches;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts";
