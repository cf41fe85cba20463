/** Reading the benchmark's `--name=value` flags (main.ts parses them into a map). */

/** A whole number ≥ `min` from a flag's text (`1_000_000` allowed); a clear error otherwise. */
export function wholeNumber(name: string, raw: string, min = 1): number {
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} wants a whole number ≥ ${min}`);
  return n;
}

/** The whole-number flag `--name`, or `fallback` when it is not given. */
export function wholeFlag(
  values: ReadonlyMap<string, string>,
  name: string,
  fallback: number,
  min = 1,
): number {
  const raw = values.get(name);
  return raw === undefined ? fallback : wholeNumber(name, raw, min);
}
