/**
 * Query parameters as the API and the CLI give them, read strictly: never with JavaScript's
 * lenient parsing, which takes "" as 0, "0x2" as 2 and "1" as the year 2001.
 */

/** A whole number given as a number or as decimal digits ("", "0x2", "1e3" and " 7" are not); NaN otherwise. */
export function wholeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
}

/** A date, or a date and time with its zone (Z or ±hh:mm), in ISO 8601, as ms; NaN otherwise. */
export function isoTime(value: string): number {
  if (value.length > 40 || !/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(value)) return NaN;
  return Date.parse(value);
}
