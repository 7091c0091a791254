/**
 * Energy and water use per building over the report's period, against the period before (the month before, for
 * a monthly report), from the energy figures (src/energy/: registers differenced across gaps, resets and meter
 * replacement, the site's time zone and tariff).
 */
import type { Interval } from '../energy/calendar.js';
import type { EnergyKind, EnergyRow, EnergyService } from '../energy/service.js';
import type { Language } from '../shared/language.js';
import { roundTo, type BuildingUse, type EnergyUseFigures, type ReportWindow } from './model.js';

/**
 * Each building's use in [w.from, w.to) and in [previousFrom, w.from), for both kinds; a building appears when it
 * has a meter of the kind. `changePct` is null when the period before used nothing.
 */
export async function energyUseFigures(energy: EnergyService, w: ReportWindow, previousFrom: number): Promise<EnergyUseFigures> {
  const [energyUse, waterUse] = await Promise.all((['energy', 'water'] as const).map((kind) => buildingUse(energy, w, previousFrom, kind)));
  return { energy: energyUse, water: waterUse };
}

async function buildingUse(energy: EnergyService, w: ReportWindow, previousFrom: number, kind: EnergyKind): Promise<BuildingUse[]> {
  // Added up from days whatever the period: the kept meter-days (src/energy/day-cache.ts) serve every one.
  const interval: Interval = '1d';
  const [now, before] = await Promise.all([totals(energy, w.site, w.from, w.to, interval, kind), totals(energy, w.site, previousFrom, w.from, interval, kind)]);
  return [...now.values()].map((b) => {
    const previous = before.get(b.building)?.consumption ?? 0;
    const use: BuildingUse = {
      building: b.building,
      names: b.names,
      unit: b.unit,
      consumption: roundTo(b.consumption, 3),
      previous: roundTo(previous, 3),
      changePct: previous > 0 ? roundTo((100 * (b.consumption - previous)) / previous, 1) : null,
    };
    if (b.cost !== undefined) use.cost = roundTo(b.cost, 2);
    return use;
  });
}

interface Total {
  building: string;
  names: Record<Language, string>;
  unit: string;
  consumption: number;
  cost?: number;
}

async function totals(energy: EnergyService, site: string, from: number, to: number, interval: Interval, kind: EnergyKind): Promise<Map<string, Total>> {
  const out = new Map<string, Total>();
  const plan = energy.plan({ site, from, to, by: 'building', interval, kind });
  for await (const row of energy.rows(plan)) add(out, row);
  return out;
}

function add(out: Map<string, Total>, row: EnergyRow): void {
  const t = out.get(row.key) ?? { building: row.key, names: row.names, unit: row.unit, consumption: 0 };
  t.consumption += row.consumption;
  if (row.cost !== undefined) t.cost = (t.cost ?? 0) + row.cost;
  out.set(row.key, t);
}
