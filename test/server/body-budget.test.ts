import { describe, expect, it } from "vitest";
import { BodyBudget } from "../../src/server/body-budget.js";

describe("BodyBudget", () => {
  it("admits bodies up to the limit, refuses past it, and takes releases back once", () => {
    let limit = 100;
    const budget = new BodyBudget(() => limit);
    const a = budget.reserve(60);
    const b = budget.reserve(40);
    expect(a && b).toBeTruthy();
    expect(budget.reserve(1)).toBeUndefined();
    expect(budget.reserve(0)).toBeTruthy(); // a body-less request costs nothing
    a?.();
    a?.(); // a second release (close after finish) gives nothing back twice
    expect(budget.inUse).toBe(40);
    expect(budget.reserve(61)).toBeUndefined();
    expect(budget.reserve(60)).toBeTruthy();
    limit = 200; // a reload applies to the next reservation
    expect(budget.reserve(100)).toBeTruthy();
    expect(budget.inUse).toBe(200);
  });
});
