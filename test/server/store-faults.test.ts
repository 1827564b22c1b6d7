import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingress, startIngress } from "./ingress-fixture.js";
import { type RawAnswer, rawRequest, requestBytes } from "./raw-http.js";
import { immutableStopsOpenFiles, mountTmpfs, setImmutable, type Tmpfs } from "./tmpfs.js";

/**
 * Store faults for real: the SQLite file on a 2 MB tmpfs that the test fills up, and a store file
 * made immutable (read-only even for root). Each time: webhooks get 503 and nothing is stored,
 * /readyz fails (also with no webhook to notice it), and both come back without a restart.
 */

const TOKEN = "store-faults-token";
const CONFIG = `
routes:
  - name: hook
    path: /hook
    verify: { type: token, secret: ${TOKEN} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;

/** Signed webhooks, /readyz and the stored count, for one ingress. */
function clientOf(ingress: Ingress) {
  let n = 0;
  return {
    send(): Promise<RawAnswer> {
      const body = Buffer.from(JSON.stringify({ n: n++, pad: "p".repeat(8_000) }));
      return rawRequest(ingress.port, [
        requestBytes(
          "POST",
          "/hook",
          [
            ["Host", "127.0.0.1"],
            ["Connection", "close"],
            ["Authorization", `Bearer ${TOKEN}`],
            ["Content-Type", "application/json"],
            ["Content-Length", String(body.length)],
          ],
          body,
        ),
      ]);
    },
    async readyz(): Promise<number> {
      return (await rawRequest(ingress.port, [Buffer.from("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")])).status;
    },
    async stored(): Promise<number> {
      return (await ingress.store.events({ limit: 10_000 })).length;
    },
  };
}

async function until(what: () => Promise<boolean>, label: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; !(await what()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a tmpfs can be mounted here; mounted for real only by a test that runs. */
function canMount(): string | undefined {
  const probe = mountTmpfs("64k");
  if (typeof probe === "string") return probe;
  probe.unmount();
  return undefined;
}

const skip = canMount();
if (skip) console.warn(`SKIPPING the full-disk store test: ${skip}`);

describe.skipIf(skip !== undefined)("store faults: full disk", () => {
  let fs: Tmpfs;
  let ingress: Ingress;

  const client = () => clientOf(ingress);
  beforeAll(async () => {
    fs = mountTmpfs("2m") as Tmpfs;
    // probeIntervalMs 0: every /readyz commits a probe, so readiness is tested without a webhook.
    ingress = await startIngress(CONFIG, { storeFile: join(fs.dir, "store.db"), store: { probeIntervalMs: 0 } });
  });
  afterAll(async () => {
    await ingress?.close();
    fs?.unmount();
  });

  it("on a full disk: /readyz fails by itself, webhooks get 503 and nothing is stored; both recover when space is back", async () => {
    const { send, readyz, stored } = client();
    expect((await send()).status).toBe(202);
    expect(await readyz()).toBe(200);
    const before = await stored();

    fs.fill();
    expect(await readyz()).toBe(503); // the write probe, before any webhook failed
    for (let i = 0; i < 3; i++) {
      const answer = await send();
      expect(answer.status).toBe(503);
      expect(answer.head.toLowerCase()).toContain("retry-after: 5");
      expect(answer.body).toBe('{"error":"store unavailable"}');
    }
    expect(await readyz()).toBe(503);
    expect(await stored()).toBe(before);

    fs.free();
    await until(async () => (await readyz()) === 200, "/readyz to recover");
    expect((await send()).status).toBe(202);
    expect(await stored()).toBe(before + 1);
  });
});

// A file made immutable: read-only for every writer, root included, without a remount (a mount
// cannot be made read-only while SQLite holds files open for writing on it: EBUSY).
function canMakeImmutable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-readonly-"));
  try {
    return immutableStopsOpenFiles(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const roSkip = canMakeImmutable();
if (roSkip) console.warn(`SKIPPING the read-only store test: ${roSkip}`);

describe.skipIf(roSkip !== undefined)("store faults: read-only file", () => {
  let ingress: Ingress;
  let roDir: string;
  let files: string[] = [];

  beforeAll(async () => {
    roDir = mkdtempSync(join(tmpdir(), "switchyard-readonly-"));
    files = [join(roDir, "store.db"), join(roDir, "store.db-wal")];
    ingress = await startIngress(CONFIG, { storeFile: join(roDir, "store.db"), store: { probeIntervalMs: 0 } });
  });
  afterAll(async () => {
    try {
      if (files.length > 0) setImmutable(files, false);
    } finally {
      await ingress?.close();
      if (roDir) rmSync(roDir, { recursive: true, force: true });
    }
  });

  it("answers 503 and fails /readyz while the store file is read-only; both recover when it is writable again", async () => {
    const client = clientOf(ingress);
    expect((await client.send()).status).toBe(202);
    const before = await client.stored();
    setImmutable(files, true);
    try {
      expect(await client.readyz()).toBe(503);
      expect((await client.send()).status).toBe(503);
      expect(await client.stored()).toBe(before);
    } finally {
      setImmutable(files, false);
    }
    await until(async () => (await client.readyz()) === 200, "/readyz to recover");
    expect((await client.send()).status).toBe(202);
    expect(await client.stored()).toBe(before + 1);
  });
});
