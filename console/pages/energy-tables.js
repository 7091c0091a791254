// The energy page's tables: the cost per tariff band and the top consumers, and the sums and names they share with it.
import { html } from '/vendor/htm-preact.js';
import { num } from '../format.js';
import { language, t } from '../i18n.js';
import { named, placeText } from '../sites.js';
import { store } from '../store.js';
import { deviceName } from './places.js';

/** The top consumers listed. */
export const TOP = 10;

/** The total of `f` over a list (an absent value counts 0). */
export const sum = (list, f) => list.reduce((a, r) => a + (f(r) ?? 0), 0);

/** A row's name in the page's language: the API gives it per language (`names`), else in the site's (`name`). */
export const rowName = (r) => named(r.names) ?? r.name ?? r.key;

/** An amount in the tariff's currency, in the page's language ("¥76.54", "CN¥76.54"). */
export function money(n, currency) {
  if (n === null || n === undefined) return '—';
  if (!currency) return num(n, 2);
  return n.toLocaleString(language(), { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/**
 * The period's consumption and cost per tariff band, summed over its days; the bands named peak, flat and valley by
 * their price when there are at most three prices (峰平谷, as Chinese tariffs name them).
 */
export function CostBands({ kind, days, tariff }) {
  if (kind !== 'energy') return html`<p class="help">${t('energy.costEnergyOnly')}</p>`;
  if (!tariff) return html`<p class="empty" data-empty="tariff">${t('energy.noTariff')}</p>`;
  const bands = new Map((tariff.energy ?? []).map((b) => [`${b.from}-${b.to}`, { ...b, consumption: 0, cost: 0 }]));
  for (const r of days) {
    for (const b of r.costBands ?? []) {
      const k = `${b.from}-${b.to}`;
      if (!bands.has(k)) bands.set(k, { from: b.from, to: b.to, price: b.price, consumption: 0, cost: 0 });
      const x = bands.get(k);
      x.consumption += b.consumption;
      x.cost += b.cost;
    }
  }
  const list = [...bands.values()];
  const prices = [...new Set(list.map((b) => b.price))].sort((a, b) => b - a);
  const names = { 1: ['flat'], 2: ['peak', 'valley'], 3: ['peak', 'flat', 'valley'] }[prices.length];
  const total = sum(list, (b) => b.cost);
  const used = sum(list, (b) => b.consumption);
  return html`<div class="scroll"><table class="cost-bands">
    <thead><tr><th>${t('energy.band')}</th><th class="n">${t('energy.price', { currency: tariff.currency })}</th><th class="n">${t('energy.consumption')} (kWh)</th>
      <th class="n">${t('energy.share')}</th><th class="n">${t('energy.cost')}</th></tr></thead>
    <tbody>${list.map((b) => html`<tr data-band=${`${b.from}-${b.to}`}>
      <td>${names ? html`<span class=${`badge band-${names[prices.indexOf(b.price)]}`}>${t(`energy.${names[prices.indexOf(b.price)]}`)}</span> ` : ''}${b.from}–${b.to}</td>
      <td class="n">${num(b.price, 4)}</td><td class="n" data-value="consumption">${num(b.consumption, 1)}</td>
      <td class="n">${used > 0 ? `${num((100 * b.consumption) / used, 1)} %` : '—'}</td><td class="n" data-value="cost">${money(b.cost, tariff.currency)}</td></tr>`)}</tbody>
    <tfoot><tr><th>${t('energy.totalRow')}</th><td></td><td class="n">${num(used, 1)}</td><td></td><td class="n" data-value="total-cost">${money(total, tariff.currency)}</td></tr></tfoot>
  </table></div>`;
}

/** The devices that used most over the period, with where they are, their share and their peak, linked to their page. */
export function TopConsumers({ site, rows, unit, total, currency }) {
  const byDevice = new Map();
  for (const r of rows) {
    const id = r.device ?? r.key;
    const d = byDevice.get(id) ?? { id, name: rowName(r), consumption: 0, cost: undefined, peak: null };
    d.consumption += r.consumption ?? 0;
    if (typeof r.cost === 'number') d.cost = (d.cost ?? 0) + r.cost;
    if (typeof r.peakDemandKw === 'number' && (d.peak === null || r.peakDemandKw > d.peak)) d.peak = r.peakDemandKw;
    byDevice.set(id, d);
  }
  const top = [...byDevice.values()].sort((a, b) => b.consumption - a.consumption).slice(0, TOP);
  if (top.length === 0) return html`<p class="empty">${t('energy.noData')}</p>`;
  const withCost = top.some((d) => d.cost !== undefined);
  const withPeak = top.some((d) => d.peak !== null);
  return html`<div class="scroll"><table class="top-consumers">
    <thead><tr><th class="n">#</th><th>${t('common.device')}</th><th>${t('common.zone')}</th><th class="n">${t('energy.consumption')} (${unit})</th>
      <th class="n">${t('energy.share')}</th>${withPeak && html`<th class="n">${t('energy.peakDemand')} (kW)</th>`}${withCost && html`<th class="n">${t('energy.cost')}</th>`}</tr></thead>
    <tbody>${top.map((d, i) => {
      const known = store.devices.get(d.id);
      return html`<tr data-device=${d.id}>
        <td class="n">${i + 1}</td>
        <td><a href=${`#/devices/${encodeURIComponent(d.id)}`}>${deviceName({ id: d.id, name: d.name })}</a></td>
        <td>${known ? placeText(site, known.zone) : '—'}</td>
        <td class="n" data-value="consumption">${num(d.consumption, 1)}</td>
        <td class="n">${total > 0 ? `${num((100 * d.consumption) / total, 1)} %` : '—'}</td>
        ${withPeak && html`<td class="n">${num(d.peak, 1)}</td>`}
        ${withCost && html`<td class="n">${money(d.cost, currency)}</td>`}
      </tr>`;
    })}</tbody>
  </table></div>`;
}
