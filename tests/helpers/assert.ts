/**
 * The few assertions the tests use. `@std/assert` lives on JSR, which these machines cannot
 * reach, so node's built-in assert module (in Deno) does the comparing.
 */
import { deepStrictEqual, ok } from "node:assert/strict";

export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  deepStrictEqual(actual, expected, message);
}

export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  ok(
    pattern.test(actual),
    message ?? `${JSON.stringify(actual.slice(0, 300))} does not match ${pattern}`,
  );
}

export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (error) {
    ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error as E;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}
