import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../../../src/plugins/targets/exec/exec.js";
import type { Target } from "../../../../src/plugins/targets/target.js";
import { makeContext, makeEvent, never } from "../context.js";

let dir: string;

/** Records, for each variable named in argv, the path it holds, the file's content (base64) and modes. */
const FILE_RECORDER = `#!${process.execPath}
const fs = require("node:fs");
const path = require("node:path");
const [out, ...names] = process.argv.slice(2);
const seen = {};
for (const n of names) {
  const p = process.env[n];
  seen[n] = { path: p, content: fs.readFileSync(p).toString("base64"), mode: fs.statSync(p).mode & 0o777, dirMode: fs.statSync(path.dirname(p)).mode & 0o777 };
}
fs.writeFileSync(out, JSON.stringify(seen));
process.exit(Number(process.env.EXIT_WITH ?? 0));
`;

interface Seen {
  path: string;
  content: string;
  mode: number;
  dirMode: number;
}

function make(options: Record<string, unknown>): Target {
  return exec.create({ name: "deploy", type: "exec", ...options } as never, makeContext(dir, 10_000).ctx);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-exec-files-"));
  writeFileSync(join(dir, "files.cjs"), FILE_RECORDER);
  chmodSync(join(dir, "files.cjs"), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("exec files: values passed as temporary files", () => {
  const event = makeEvent({
    note: "hello\nworld",
    image: Buffer.from([0, 1, 2, 255]).toString("base64"),
    obj: { a: [1, 2] },
    bad: "not base64!",
  });

  it.each([0, 3])("writes each value to a private file, names it in env, removes it after a run that exits %i", async (code) => {
    const out = join(dir, `seen-${code}.json`);
    const target = make({
      command: ["./files.cjs", out, "NOTE", "IMAGE", "OBJ"],
      env: { EXIT_WITH: `"${code}"` },
      files: { NOTE: "body.note", IMAGE: { value: "body.image", base64: true }, OBJ: "body.obj" },
    });
    const outcome = await target.deliver({ event }, never);
    expect(outcome.kind).toBe(code === 0 ? "delivered" : "retry");
    const seen = JSON.parse(readFileSync(out, "utf8")) as Record<string, Seen>;
    expect(Buffer.from(seen.NOTE?.content ?? "", "base64").toString()).toBe("hello\nworld");
    expect([...Buffer.from(seen.IMAGE?.content ?? "", "base64")]).toEqual([0, 1, 2, 255]);
    expect(Buffer.from(seen.OBJ?.content ?? "", "base64").toString()).toBe('{"a":[1,2]}');
    for (const f of Object.values(seen)) {
      expect(f.mode).toBe(0o600);
      expect(f.dirMode).toBe(0o700);
      expect(existsSync(f.path)).toBe(false);
    }
    expect(existsSync(dirname(seen.NOTE?.path ?? "/"))).toBe(false);
  });

  it("each run gets its own folder", async () => {
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    await Promise.all([
      make({ command: ["./files.cjs", a, "NOTE"], files: { NOTE: "body.note" } }).deliver({ event }, never),
      make({ command: ["./files.cjs", b, "NOTE"], files: { NOTE: "body.note" } }).deliver({ event }, never),
    ]);
    const pa = (JSON.parse(readFileSync(a, "utf8")) as Record<string, Seen>).NOTE?.path;
    const pb = (JSON.parse(readFileSync(b, "utf8")) as Record<string, Seen>).NOTE?.path;
    expect(pa).toBeDefined();
    expect(pa).not.toBe(pb);
  });

  it("a value that is not base64 fails the delivery without running the command", async () => {
    const out = join(dir, "never.json");
    const outcome = await make({
      command: ["./files.cjs", out, "IMAGE"],
      files: { IMAGE: { value: "body.bad", base64: true } },
    }).deliver({ event }, never);
    expect(outcome).toMatchObject({ kind: "fail", error: expect.stringContaining("files.IMAGE: the value is not valid base64") });
    expect(existsSync(out)).toBe(false);
  });

  it("the dry run shows what each file would hold", async () => {
    const target = make({ command: ["./files.cjs"], files: { NOTE: "body.note" } });
    expect(await target.render({ event })).toMatchObject({ files: { NOTE: "hello\nworld" } });
  });

  it("a name given in both env and files is an option problem", () => {
    expect(() => make({ command: ["./files.cjs"], env: { NOTE: "1" }, files: { NOTE: "body.note" } })).toThrow(/give it one meaning/);
  });
});
