/**
 * Instants (milliseconds since the epoch) as ISO 8601 text, exactly as `Date#toISOString` writes
 * them, in a quarter of its time: a list page writes three per session, a history page one per
 * message, and `toISOString` was the largest single cost of shaping them (docs/benchmarks.md).
 * The date part comes from the day number by arithmetic (the proleptic Gregorian calendar, as
 * `Date` uses), remembered for the last day asked; the time of day is plain division.
 */
const DAY_MS = 86_400_000;
/** 10000-01-01: from there on `toISOString` writes a six-digit year with a sign. */
const YEAR_10000 = 253_402_300_800_000;

let cachedDay = Number.NaN;
let cachedPrefix = '';

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `YYYY-MM-DDT` of a day counted from 1970-01-01 (days from civil, inverted; eras of 400 years). */
function datePrefix(day: number): string {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March
  const dayOfMonth = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(dayOfMonth)}T`;
}

export function isoInstant(ms: number): string {
  // Outside years 1970–9999, or not a whole millisecond: what Date does (or throws).
  if (!Number.isInteger(ms) || ms < 0 || ms >= YEAR_10000) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = datePrefix(day);
  }
  let rest = ms - day * DAY_MS;
  const milliseconds = rest % 1000;
  rest = (rest - milliseconds) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${cachedPrefix}${two(hours)}:${two(minutes)}:${two(seconds)}.${three(milliseconds)}Z`;
}
