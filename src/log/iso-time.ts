// Timestamps as Date#toISOString writes them ("2026-12-01T21:00:48.366Z"), computed from the epoch
// milliseconds without a Date. The first Date a V8 process creates sets up its time zone support
// through ICU, and toISOString touches more of ICU's data: ~0.9 MB of the node binary's pages stay
// in the memory of every process that logs a line, the supervisor included, which otherwise never
// needs a Date (measured on its compiled build, bench scenario 5). This is the one date routine
// the supervisor needs; the calendar arithmetic is Howard Hinnant's days-to-civil algorithm
// (proleptic Gregorian, as ECMAScript's Date), checked against Date in test/iso-time.test.ts.

const MS_PER_DAY = 86_400_000;
/** 9999-12-31T23:59:59.999Z: beyond it (or before 1970) toISOString's format changes; Date does it. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `ms` since the epoch as Date#toISOString would write it. */
export function isoTime(ms: number): string {
  if (!(Number.isInteger(ms) && ms >= 0 && ms <= LAST_FOUR_DIGIT_YEAR_MS)) return new Date(ms).toISOString();
  const days = Math.floor(ms / MS_PER_DAY);
  const inDay = ms - days * MS_PER_DAY;
  // days-to-civil: eras of 400 years (146097 days) counted from 0000-03-01.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(inDay / 3_600_000);
  const minutes = Math.floor(inDay / 60_000) % 60;
  const seconds = Math.floor(inDay / 1000) % 60;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${pad(inDay % 1000, 3)}Z`;
}

/** pino's `timestamp` option: its isoTime's output, without a Date. */
export const pinoIsoTime = (): string => `,"time":"${isoTime(Date.now())}"`;
