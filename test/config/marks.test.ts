import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";

/** The marks are read alongside documents that are still broken: what they protect must hold there too. */
describe("marked fields in a broken config", () => {
  const messages = (text: string) => parseConfig(text, "switchyard.yaml", {}).issues.map((i) => `${i.place}: ${i.message}`);

  it("leaves JSONata alone in a target whose type is misspelt", () => {
    const issues = messages(`
routes:
  - name: r
    path: /r
    verify: { type: none }
    targets:
      - { name: t, type: htp, url: "http://127.0.0.1:9/", filter: '$contains(body.text, "\${NOPE}")' }
`);
    expect(issues.join("\n")).toContain("unknown type");
    expect(issues.join("\n")).not.toContain("NOPE");
  });

  it("leaves JSONata alone under an env name the schema refuses", () => {
    const issues = messages(`
routes:
  - name: r
    path: /r
    verify: { type: none }
    targets:
      - { name: t, type: exec, command: [/bin/true], env: { "BAD-NAME": '"\${NOPE}"' } }
`);
    expect(issues.some((i) => i.startsWith("routes[0].targets[0].env"))).toBe(true);
    expect(issues.join("\n")).not.toContain("NOPE");
  });

  it("never shows a secret-marked value in an error, wherever the plugin put it", () => {
    const issues = messages(`
store: { type: redis, url: "http://:hunter2-password@redis" }
routes:
  - name: r
    path: /r
    verify: { type: github, secrets: [42, "ok-secret"] }
    targets:
      - { name: t, type: http, url: 17, headers: { X-Token: 5 } }
`);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.join("\n")).not.toMatch(/hunter2|42|17|"5"/);
  });
});
