// Service reports per site and period: alarms, work orders, energy, parking, access, availability.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { get, token } from '../api.js';
import { dateTime, num } from '../format.js';
import { label, t } from '../i18n.js';
import { sites, useStore } from '../store.js';

export function ReportsPage() {
  useStore();
  const mine = sites();
  const [site, setSite] = useState(mine[0] ?? '');
  const [period, setPeriod] = useState('day');
  const [start, setStart] = useState('');
  const [report, setReport] = useState();
  const query = () => {
    const q = new URLSearchParams({ site: site || mine[0] || '', period });
    if (start) q.set('start', start);
    return q;
  };
  const show = async (e) => {
    e?.preventDefault();
    setReport(null);
    get(`/api/reports/service?${query()}`).then(setReport, (err) => setReport(err));
  };
  useEffect(() => {
    if (site || mine[0]) show();
  }, [site || mine[0]]);
  const download = async () => {
    const q = query();
    q.set('format', 'csv');
    const res = await fetch(`/api/reports/service?${q}`, { headers: { authorization: `Bearer ${token()}` } });
    if (!res.ok) return setReport(new Error((await res.json()).message));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await res.blob());
    a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'report.csv';
    a.click();
    URL.revokeObjectURL(a.href);
  };
  return html`<section class="report">
    <form class="bar" onSubmit=${show}>
      <h2>${t('reports.title')}</h2>
      <select name="site" aria-label=${t('common.site')} value=${site || mine[0]} onChange=${(e) => setSite(e.target.value)}>
        ${mine.map((x) => html`<option value=${x}>${x}</option>`)}
      </select>
      <select name="period" aria-label=${t('reports.period')} value=${period} onChange=${(e) => setPeriod(e.target.value)}>
        ${['day', 'week', 'month'].map((p) => html`<option value=${p}>${t(`reports.${p}`)}</option>`)}
      </select>
      <input type="date" name="start" aria-label=${t('reports.start')} value=${start} onInput=${(e) => setStart(e.target.value)} />
      <button class="primary" type="submit">${t('reports.show')}</button>
      <button type="button" onClick=${download}>${t('reports.csv')}</button>
    </form>
    ${report === undefined || report === null ? html`<p class="muted">${t('common.loading')}</p>`
      : report instanceof Error ? html`<p class="error" role="alert">${report.message}</p>`
      : html`<${Report} r=${report} />`}
  </section>`;
}

const minutes = (n) => (n === null ? '—' : t('reports.minutes', { n: num(n) }));
const pct = (n) => (n === null || n === undefined ? '—' : `${num(n)} %`);

function Kpi({ name, value }) {
  return html`<div class="kpi"><span class="muted">${name}</span><strong>${value}</strong></div>`;
}

function Report({ r }) {
  const buildings = [...new Set(r.energy.byBuildingDay.map((e) => e.building))].sort();
  const days = [...new Set(r.energy.byBuildingDay.map((e) => e.date))].sort();
  const kwh = new Map(r.energy.byBuildingDay.map((e) => [`${e.building} ${e.date}`, e.kwh]));
  return html`<div data-testid="report">
    <p class="muted">${r.site} · ${dateTime(r.from)} – ${dateTime(r.to)} (${r.timeZone})</p>

    <h3>${t('reports.alarms')}</h3>
    <div class="kpis">
      <${Kpi} name=${t('reports.raised')} value=${r.alarms.raised} />
      <${Kpi} name=${t('reports.acknowledged')} value=${r.alarms.acknowledged} />
      <${Kpi} name=${t('reports.cleared')} value=${r.alarms.cleared} />
      <${Kpi} name=${t('reports.mtta')} value=${minutes(r.alarms.meanTimeToAckMinutes)} />
      <${Kpi} name=${t('reports.mttc')} value=${minutes(r.alarms.meanTimeToClearMinutes)} />
    </div>
    <div class="two">
      <table><tbody>${r.alarms.bySeverity.map((s) => html`<tr><td><span class=${`badge sev-${s.severity}`}>${label('severity', s.severity)}</span></td><td class="n">${s.count}</td></tr>`)}</tbody></table>
      <table><tbody>${r.alarms.byType.map((s) => html`<tr><td>${label('type', s.type)}</td><td class="n">${s.count}</td></tr>`)}</tbody></table>
    </div>

    <h3>${t('reports.workOrders')}</h3>
    <div class="kpis">
      <${Kpi} name=${t('reports.opened')} value=${r.workOrders.opened} />
      <${Kpi} name=${t('reports.resolved')} value=${r.workOrders.resolved} />
      <${Kpi} name=${t('reports.overdue')} value=${r.workOrders.overdue} />
      <${Kpi} name=${t('reports.mttr')} value=${minutes(r.workOrders.meanTimeToResolveMinutes)} />
      <${Kpi} name=${t('reports.sla')} value=${pct(r.workOrders.slaCompliancePct)} />
    </div>
    ${r.workOrders.byCategory.length > 0 && html`<div class="scroll"><table>
      <thead><tr><th>${t('wo.category')}</th><th>${t('reports.opened')}</th><th>${t('reports.resolved')}</th><th>${t('reports.overdue')}</th><th>${t('reports.mttr')}</th><th>${t('reports.sla')}</th></tr></thead>
      <tbody>${r.workOrders.byCategory.map((c) => html`<tr>
        <td>${label('category', c.category)}</td><td class="n">${c.opened}</td><td class="n">${c.resolved}</td><td class="n">${c.overdue}</td>
        <td class="n">${minutes(c.meanTimeToResolveMinutes)}</td><td class="n">${pct(c.slaCompliancePct)}</td></tr>`)}</tbody>
    </table></div>`}

    <h3>${t('reports.energy')} <span class="muted">${t('reports.total')} ${num(r.energy.totalKwh, 3)}</span></h3>
    ${buildings.length > 0 && html`<div class="scroll"><table>
      <thead><tr><th>${t('devices.building')}</th>${days.map((d) => html`<th>${d.slice(5)}</th>`)}</tr></thead>
      <tbody>${buildings.map((b) => html`<tr><td>${b}</td>${days.map((d) => html`<td class="n">${num(kwh.get(`${b} ${d}`), 3)}</td>`)}</tr>`)}</tbody>
    </table></div>`}

    <h3>${t('reports.parking')}</h3>
    <${Bars} values=${r.parking.byHour.map((h) => ({ label: h.hour, value: h.occupancyPct }))} max=${100} format=${pct} />

    <h3>${t('reports.access')} <span class="muted">${t('reports.granted')} ${r.access.granted} · ${t('reports.denied')} ${r.access.denied}</span></h3>
    <${Bars} values=${r.access.byHour.map((h) => ({ label: h.hour, value: h.granted, second: h.denied }))} format=${(n) => num(n, 0)} />

    <h3>${t('reports.availability')} <span class="muted">${pct(r.availability.pct)}</span></h3>
    <div class="two">
      <table><tbody>${r.availability.byKind.map((k) => html`<tr><td>${label('kind', k.kind)}</td><td class="n">${k.devices}</td><td class="n">${pct(k.pct)}</td></tr>`)}</tbody></table>
      <table>
        <caption>${t('reports.worst')}</caption>
        <tbody>${r.availability.devices.slice(0, 10).map((d) => html`<tr><td><a href=${`#/devices/${encodeURIComponent(d.device)}`}>${d.device}</a></td><td>${d.zone}</td><td class="n">${pct(d.pct)}</td></tr>`)}</tbody>
      </table>
    </div>
  </div>`;
}

/** 24 bars (one per hour); `second` is drawn on top of `value` in another colour (denied on granted). */
function Bars({ values, max, format }) {
  const top = max ?? Math.max(1, ...values.map((v) => (v.value ?? 0) + (v.second ?? 0)));
  return html`<div class="bars" role="img">
    ${values.map((v) => html`<div class="bar-col" title=${`${v.label}: ${format(v.value)}${v.second ? ` + ${format(v.second)}` : ''}`}>
      <div class="stack">
        ${v.second ? html`<div class="b second" style=${`height:${(100 * v.second) / top}%`}></div>` : ''}
        <div class="b" style=${`height:${(100 * (v.value ?? 0)) / top}%`}></div>
      </div>
      <span>${v.label}</span>
    </div>`)}
  </div>`;
}
