/**
 * The site's local time of day, and sunrise and sunset (NOAA's simplified solar position), so that street
 * lights follow dusk and dawn where the site is, in its own time zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is a zone name Intl knows (e.g. `Asia/Shanghai`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Hours since local midnight in `timeZone` (e.g. 18.5 for 18:30), and whether it is a weekend day. */
export function localTime(epochMs: number, timeZone: string): { hour: number; weekend: boolean } {
  let hour = 0;
  let minute = 0;
  let weekend = false;
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'weekday') weekend = part.value === 'Sat' || part.value === 'Sun';
  }
  return { hour: hour + minute / 60 + (epochMs % 60_000) / 3_600_000, weekend };
}

const RAD = Math.PI / 180;

/**
 * Whether the sun is below the horizon (civil dusk to civil dawn: the sun 6° below it, when lights
 * switched by a photocell come on) at `lat`/`lon` at `epochMs`.
 */
export function isDark(epochMs: number, lat: number, lon: number): boolean {
  return solarElevation(epochMs, lat, lon) < -6;
}

/** The sun's elevation in degrees (NOAA's approximation, good to a fraction of a degree). */
export function solarElevation(epochMs: number, lat: number, lon: number): number {
  const days = epochMs / 86_400_000 - 10957.5; // days since J2000.0
  const meanLong = (280.46 + 0.9856474 * days) % 360;
  const meanAnomaly = ((357.528 + 0.9856003 * days) % 360) * RAD;
  const eclipticLong = (meanLong + 1.915 * Math.sin(meanAnomaly) + 0.02 * Math.sin(2 * meanAnomaly)) * RAD;
  const obliquity = (23.439 - 0.0000004 * days) * RAD;
  const declination = Math.asin(Math.sin(obliquity) * Math.sin(eclipticLong));
  const rightAscension = Math.atan2(Math.cos(obliquity) * Math.sin(eclipticLong), Math.cos(eclipticLong));
  const gmstHours = (18.697374558 + 24.06570982441908 * days) % 24;
  const hourAngle = (gmstHours * 15 + lon) * RAD - rightAscension;
  const elevation = Math.asin(
    Math.sin(lat * RAD) * Math.sin(declination) + Math.cos(lat * RAD) * Math.cos(declination) * Math.cos(hourAngle),
  );
  return elevation / RAD;
}

/** A smooth bump centred on `peak` (hours) with width `sd` (hours), wrapping around midnight. */
export function bump(hour: number, peak: number, sd: number): number {
  const d = Math.min(Math.abs(hour - peak), 24 - Math.abs(hour - peak));
  return Math.exp(-(d * d) / (2 * sd * sd));
}
