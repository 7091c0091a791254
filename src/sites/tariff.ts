/**
 * A site's energy tariff (contract §13): time-of-use bands of the site's local day, each with its price per kWh.
 * The bands must not overlap and must cover the whole day: a reading in a gap would have no price, and two prices
 * for one minute would make the cost depend on the order of the file. A band may run past midnight (22:00-06:00).
 */
import { z } from 'zod';

const MINUTES_A_DAY = 24 * 60;
const TIME = /^(?:([01][0-9]|2[0-3]):([0-5][0-9])|24:00)$/;

/** Minutes after midnight of `HH:MM` (24:00 is 1440). */
export function minuteOfDay(text: string): number {
  const m = TIME.exec(text);
  if (!m) return Number.NaN;
  return m[1] === undefined ? MINUTES_A_DAY : Number(m[1]) * 60 + Number(m[2]);
}

const Time = z.string().regex(TIME, 'must be HH:MM (00:00 to 24:00)');

const BandSchema = z.strictObject({ from: Time, to: Time, price: z.number().min(0, 'must be 0 or more').max(1_000_000) });

export const TariffSchema = z
  .strictObject({
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as CNY'),
    energy: z.array(BandSchema).min(1).max(48),
  })
  .superRefine((t, ctx) => {
    /** Which band holds each minute of the day. */
    const owner: Array<number | undefined> = new Array(MINUTES_A_DAY).fill(undefined);
    let refused = false;
    t.energy.forEach((band, i) => {
      const from = minuteOfDay(band.from) % MINUTES_A_DAY;
      const to = minuteOfDay(band.to);
      if (from === to % MINUTES_A_DAY && !(from === 0 && to === MINUTES_A_DAY)) {
        ctx.addIssue({ code: 'custom', path: ['energy', i], message: 'from and to are the same time; a band for the whole day is 00:00-24:00' });
        refused = true;
        return;
      }
      const length = (to - from + MINUTES_A_DAY) % MINUTES_A_DAY || MINUTES_A_DAY;
      for (let k = 0; k < length; k++) {
        const minute = (from + k) % MINUTES_A_DAY;
        const other = owner[minute];
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['energy', i], message: `overlaps energy[${other}] at ${clock(minute)}` });
          refused = true;
          return;
        }
        owner[minute] = i;
      }
    });
    const gap = owner.findIndex((o) => o === undefined);
    // A band refused above leaves a gap of its own: that one problem is enough.
    if (gap >= 0 && !refused) {
      let end = gap;
      while (end < MINUTES_A_DAY && owner[end] === undefined) end++;
      ctx.addIssue({ code: 'custom', path: ['energy'], message: `the bands must cover the whole day; ${clock(gap)}-${clock(end)} has no price` });
    }
  });

export type Tariff = z.output<typeof TariffSchema>;

/** The price of a minute of the local day (0..1439) under `tariff`. */
export function priceAt(tariff: Tariff, minute: number): number | undefined {
  return tariff.energy.find((b) => {
    const from = minuteOfDay(b.from) % MINUTES_A_DAY;
    const to = minuteOfDay(b.to);
    return from < to ? minute >= from && minute < to : minute >= from || minute < to % MINUTES_A_DAY;
  })?.price;
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
