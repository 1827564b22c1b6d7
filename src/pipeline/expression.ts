import jsonata from "jsonata";
import { ExpressionError } from "../errors.js";
import { inRange } from "./in-range.js";

/**
 * JSONata, compiled once at config load and evaluated with guardrails so that a runaway
 * expression (`[1..100000000]`, deep recursion) cannot stall the daemon.
 */
export const EXPRESSION_TIMEOUT_MS = 1_000;
const MAX_STACK_DEPTH = 500;
const MAX_SEQUENCE_LENGTH = 1_000_000;

export interface Expression {
  readonly source: string;
  /** Where the expression was written (`routes[0].targets[1].transform`), for errors. */
  readonly where: string;
  evaluate(input: unknown): Promise<unknown>;
}

/** Thrown by compileExpression; carries the 0-based character position JSONata reports. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly where: string,
    readonly position: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "ExpressionSyntaxError";
  }
}

interface JsonataFault {
  code?: string;
  position?: number;
  message?: string;
  token?: string;
}

function describe(fault: unknown): JsonataFault {
  return typeof fault === "object" && fault !== null ? (fault as JsonataFault) : { message: String(fault) };
}

/** `timeoutMs`: a search over many events gives each one less time than a route's filter gets. */
export function compileExpression(source: string, where: string, timeoutMs = EXPRESSION_TIMEOUT_MS): Expression {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source, {
      timeout: timeoutMs,
      stack: MAX_STACK_DEPTH,
      sequence: MAX_SEQUENCE_LENGTH,
    } as jsonata.JsonataOptions);
  } catch (err) {
    const f = describe(err);
    const at = f.position !== undefined ? ` at position ${f.position}` : "";
    throw new ExpressionSyntaxError(where, f.position, `JSONata syntax error${at}: ${f.message ?? "invalid expression"}`);
  }
  compiled.registerFunction("inRange", inRange);
  return {
    source,
    where,
    async evaluate(input: unknown): Promise<unknown> {
      try {
        return await compiled.evaluate(input);
      } catch (err) {
        const f = describe(err);
        const code = f.code ? ` (${f.code})` : "";
        throw new ExpressionError(where, `${f.message ?? "evaluation failed"}${code}`, { cause: err });
      }
    },
  };
}

/** JSONata's notion of truthiness for filters: undefined (no match), false, 0, "" and [] say no. */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.some(isTruthy);
  return true;
}
