// RFC 9110 §10.2.3: Retry-After is either delay-seconds (digits only) or an
// HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms).
const SECONDS = /^\d+$/;
// Every HTTP-date form starts with a day name; this keeps Date.parse's lenient
// fallback from turning strings like "5.5" into dates.
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * The delay in ms a `Retry-After` header value asks for, or undefined when
 * there is none or it is malformed. An HTTP-date is compared with `now`
 * (wall-clock ms, default `Date.now()`); a date in the past asks for 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (SECONDS.test(text)) return Number(text) * 1000;
  if (!HTTP_DATE.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
