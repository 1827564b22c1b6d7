import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDatabase } from "../../../src/store/sqlite/sqlite-schema.js";
import { prepareStatements } from "../../../src/store/sqlite/sqlite-statements.js";

/**
 * The console's queries read by index, so they cost the same on a store of a million events:
 * each plan is a SEARCH on an index (never a SCAN of a table, never a sort of the whole result).
 */

const dir = mkdtempSync(join(tmpdir(), "switchyard-plans-"));
const db = new Database(join(dir, "switchyard.db"));
prepareDatabase(db, 1_000, "create");
const stmt = prepareStatements(db);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan(statement: { source: string }, params: Record<string, unknown>): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all(params) as { detail: string }[]).map((r) => r.detail).join("\n");
}

const page = { route: "github", since: 0, ms: Date.now(), rid: 10, limit: 50, withDoc: 0 };

describe("the console's query plans", () => {
  it("pages events by the received-time index, without sorting", () => {
    const all = plan(stmt.page, page);
    expect(all).toMatch(/SEARCH events USING INDEX events_received \(received_at_ms[<>=]/);
    const ofRoute = plan(stmt.pageOfRoute, page);
    expect(ofRoute).toMatch(/SEARCH events USING INDEX events_route_received \(route=\? AND received_at_ms[<>=]/);
    for (const p of [all, ofRoute]) {
      expect(p).not.toMatch(/SCAN events|TEMP B-TREE/);
    }
  });

  it("reads a page's deliveries and attempt logs by key", () => {
    expect(plan(stmt.deliveriesOf, { ids: "[]" })).toMatch(/SEARCH deliveries USING INDEX deliveries_event_target \(event_id=\?\)/);
    expect(plan(stmt.attemptsOf, { ids: "[]" })).toMatch(/SEARCH attempts USING PRIMARY KEY \(delivery_id=\?\)/);
    expect(
      plan(stmt.insertAttempt, {
        id: 1,
        attempt: 1,
        startedAt: 0,
        durationMs: 0,
        outcome: "x",
        status: null,
        exitCode: null,
        response: null,
        error: null,
      }),
    ).not.toMatch(/SCAN/);
    expect(plan(stmt.trimAttempts, { id: 1, keep: 20 })).not.toMatch(/SCAN/);
  });

  it("sums the overview's counters over a range of the primary key", () => {
    const p = plan(stmt.counts, { since: 0, width: 60_000 });
    expect(p).toMatch(/SEARCH counts USING PRIMARY KEY \(minute>\?\)/);
    expect(plan(stmt.pruneCounts, { before: 0 })).toMatch(/SEARCH counts USING PRIMARY KEY \(minute<\?\)/);
  });

  it("counts waiting and dead deliveries per target by the state index", () => {
    expect(plan(stmt.targetDepths, {})).toMatch(/SEARCH deliveries USING INDEX deliveries_state \(state=\?\)/);
  });
});
