// Order statistics and number formatting for the report.

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (values: readonly number[]) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A number for a table: `digits` decimals, thousands separated, "n/a" when missing. */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const ms = (value: number | undefined, digits = 0) => `${fmt(value, digits)} ms`;
export const mb = (value: number | undefined) => `${fmt(value, 1)} MB`;
export const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? 'n/a' : `${fmt(a / b, 2)}×`;

/** The largest value, NaN for none (safe for long arrays, unlike Math.max(...values)). */
export const slowest = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b));
