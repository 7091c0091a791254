// Service reports per site and period: alarms, life safety, alarm-system health, work orders, energy, parking, access, availability,
// guard rounds, lifts and pumps.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { ApiError, get, token } from '../api.js';
import { errorText } from '../errors.js';
import { dateTime, localDate, num } from '../format.js';
import { label, language, t } from '../i18n.js';
import { named, placeText, siteName } from '../sites.js';
import { sites, store, useStore } from '../store.js';

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
    if (!res.ok) return setReport(new ApiError(res.status, await res.json().catch(() => undefined)));
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
        ${mine.map((x) => html`<option value=${x}>${siteName(x)}</option>`)}
      </select>
      <select name="period" aria-label=${t('reports.period')} value=${period} onChange=${(e) => setPeriod(e.target.value)}>
        ${['day', 'week', 'month'].map((p) => html`<option value=${p}>${t(`reports.${p}`)}</option>`)}
      </select>
      <input type="date" name="start" aria-label=${t('reports.start')} value=${start} onInput=${(e) => setStart(e.target.value)} />
      <button class="primary" type="submit">${t('reports.show')}</button>
      <button type="button" onClick=${download}>${t('reports.csv')}</button>
    </form>
    ${report === undefined || report === null ? html`<p class="muted">${t('common.loading')}</p>`
      : report instanceof Error ? html`<p class="error" role="alert">${errorText(report)}</p>`
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
    <p class="muted">${siteName(r.site)} · ${dateTime(r.from, r.timeZone)} – ${dateTime(r.to, r.timeZone)} (${r.timeZone})</p>

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

    <${LifeSafety} r=${r} />
    <${AlarmHealth} r=${r} />
    <${Patrol} r=${r} />
    <${Lifts} r=${r} />
    <${Pumps} r=${r} />
    <${EnergyUse} r=${r} />

    <h3>${t('reports.workOrders')}</h3>
    <div class="kpis">
      <${Kpi} name=${t('reports.opened')} value=${r.workOrders.opened} />
      <${Kpi} name=${t('reports.resolved')} value=${r.workOrders.resolved} />
      <${Kpi} name=${t('reports.overdue')} value=${r.workOrders.overdue} />
      <${Kpi} name=${t('reports.mttr')} value=${minutes(r.workOrders.meanTimeToResolveMinutes)} />
      <${Kpi} name=${t('reports.sla')} value=${pct(r.workOrders.slaCompliancePct)} />
    </div>
    ${r.workOrders.byCategory.length > 0 && html`<div class="scroll"><table>
      <thead><tr><th>${t('wo.category')}</th><th class="n">${t('reports.opened')}</th><th class="n">${t('reports.resolved')}</th><th class="n">${t('reports.overdue')}</th><th class="n">${t('reports.mttr')}</th><th class="n">${t('reports.sla')}</th></tr></thead>
      <tbody>${r.workOrders.byCategory.map((c) => html`<tr>
        <td>${label('category', c.category)}</td><td class="n">${c.opened}</td><td class="n">${c.resolved}</td><td class="n">${c.overdue}</td>
        <td class="n">${minutes(c.meanTimeToResolveMinutes)}</td><td class="n">${pct(c.slaCompliancePct)}</td></tr>`)}</tbody>
    </table></div>`}

    ${buildings.length === 0 && !onSite(r.site, 'energy') ? html`<h3>${t('reports.energy')}</h3><p class="muted" data-empty>${t('reports.energyNone')}</p>`
      : html`<h3>${t('reports.energy')} <span class="muted">${t('reports.total')} ${num(r.energy.totalKwh, 3)}</span></h3>`}
    ${buildings.length > 0 && html`<div class="scroll"><table>
      <thead><tr><th>${t('devices.building')}</th>${days.map((d) => html`<th class="n">${d.slice(5)}</th>`)}</tr></thead>
      <tbody>${buildings.map((b) => html`<tr><td>${buildingCell(r.site, b)}</td>${days.map((d) => html`<td class="n">${num(kwh.get(`${b} ${d}`), 3)}</td>`)}</tr>`)}</tbody>
    </table></div>`}

    <h3>${t('reports.parking')}</h3>
    ${r.parking.byHour.every((h) => h.occupancyPct === null) && !onSite(r.site, 'parking') ? html`<p class="muted" data-empty>${t('reports.parkingNone')}</p>`
      : html`<${Bars} values=${r.parking.byHour.map((h) => ({ label: h.hour, value: h.occupancyPct }))} max=${100} format=${pct} />`}

    ${r.access.granted + r.access.denied === 0 && !onSite(r.site, 'access') ? html`<h3>${t('reports.access')}</h3><p class="muted" data-empty>${t('reports.accessNone')}</p>`
      : html`<h3>${t('reports.access')} <span class="muted">${t('reports.granted')} ${r.access.granted} · ${t('reports.denied')} ${r.access.denied}</span></h3>
    <${Bars} values=${r.access.byHour.map((h) => ({ label: h.hour, value: h.granted, second: h.denied }))} format=${(n) => num(n, 0)} />`}

    <h3>${t('reports.availability')} <span class="muted">${pct(r.availability.pct)}</span></h3>
    <div class="two">
      <table><tbody>${r.availability.byKind.map((k) => html`<tr><td>${label('kind', k.kind)}</td><td class="n">${k.devices}</td><td class="n">${pct(k.pct)}</td></tr>`)}</tbody></table>
      <table>
        <caption>${t('reports.worst')}</caption>
        <tbody>${r.availability.devices.slice(0, 10).map((d) => html`<tr><td><a href=${`#/devices/${encodeURIComponent(d.device)}`}>${d.device}</a></td><td>${placeText(r.site, d.zone)}</td><td class="n">${pct(d.pct)}</td></tr>`)}</tbody>
      </table>
    </div>
  </div>`;
}

/** A building of a site by its name in the page's language (the site file's), else its code, shown as a code. */
function buildingCell(site, id) {
  const name = named(store.sites?.get(site)?.buildings?.find((x) => x.id === id)?.name);
  return name ?? html`<code>${id}</code>`;
}

/** Whether the site has a device of `kind` registered now (the devices the console holds). */
function onSite(site, kind) {
  for (const d of store.devices.values()) if (d.site === site && d.kind === kind) return true;
  return false;
}

/** A device by id, linked to its page. */
const deviceLink = (id) => html`<a href=${`#/devices/${encodeURIComponent(id)}`}>${id}</a>`;

/** Round numbers as the page's language lists them: "第 1、3 轮", "rounds 1, 3". */
const rounds = (list) => t(list.length === 1 ? 'reports.round' : 'reports.rounds', { n: list.join(t('reports.listSep')) });

/** Emergency calls and trapped passengers, with how soon the desk acknowledged each. */
function LifeSafety({ r }) {
  const ls = r.lifeSafety;
  if (ls.incidents.length === 0) {
    const none = !onSite(r.site, 'sos') && !onSite(r.site, 'lift');
    return html`<section data-section="lifeSafety">
      <h3>${t('reports.lifeSafety')}</h3>
      <p class="muted" data-empty>${t(none ? 'reports.lifeSafetyNone' : 'reports.lifeSafetyQuiet')}</p>
    </section>`;
  }
  return html`<section data-section="lifeSafety">
    <h3>${t('reports.lifeSafety')} <span class="muted">${t('reports.mtta')} ${minutes(ls.meanMinutesToAck)}</span></h3>
    <div class="two"><div class="scroll">
      <table class="by-type">
        <thead><tr><th>${t('reports.type')}</th><th class="n">${t('reports.count')}</th><th class="n">${t('reports.acknowledged')}</th><th class="n">${t('reports.mtta')}</th></tr></thead>
        <tbody>${ls.byType.map((b) => html`<tr data-type=${b.type}><td>${label('type', b.type)}</td><td class="n">${b.count}</td><td class="n">${b.acknowledged}</td><td class="n">${minutes(b.meanMinutesToAck)}</td></tr>`)}</tbody>
      </table>
    </div></div>
    <div class="scroll"><table>
      <thead><tr><th>${t('reports.raisedAt')}</th><th>${t('reports.type')}</th><th>${t('common.device')}</th><th>${t('common.zone')}</th>
        <th>${t('reports.acknowledgedAt')}</th><th>${t('alarms.ackedBy')}</th><th class="n">${t('reports.timeToAck')}</th></tr></thead>
      <tbody>${ls.incidents.map((i) => html`<tr data-incident=${i.type}>
        <td>${dateTime(i.raisedAt, r.timeZone)}</td><td>${label('type', i.type)}</td><td>${deviceLink(i.device)}</td><td>${i.zone ? placeText(r.site, i.zone) : '—'}</td>
        ${i.acknowledgedAt
          ? html`<td>${dateTime(i.acknowledgedAt, r.timeZone)}</td><td>${i.acknowledgedBy ?? '—'}</td><td class="n">${minutes(i.minutesToAck)}</td>`
          : html`<td colspan="3"><span class="badge sev-critical">${t('reports.notAcked')}</span></td>`}
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

/** Seconds as the page reads them: "45 s", "2.5 min". */
const seconds = (n) => (n === null ? '—' : n < 120 ? t('reports.seconds', { n: num(n, 0) }) : minutes(n / 60));

/**
 * Alarm-system health per day, after ISA-18.2 / EEMUA 191: the load on the desk, floods, the alarms behind most of
 * it, chattering and standing alarms, and how soon critical alarms were acknowledged. A figure past the benchmark's
 * "maximum manageable" is marked.
 */
function AlarmHealth({ r }) {
  const h = r.alarmHealth;
  const b = h.benchmarks;
  const cell = (value, bad, text = value) => html`<td class=${`n${bad ? ' bad' : ''}`}>${text}</td>`;
  const key = (x) => `${label('type', x.type)} · ${x.source}`;
  // The last day is counted up to the report's time when the period was not over then.
  const inProgress = Date.parse(r.generatedAt) < Date.parse(r.to);
  const detailed = h.days.filter((d) => d.topSources.length + d.chattering.length + d.standing.length > 0);
  return html`<section data-section="alarmHealth">
    <h3>${t('reports.alarmHealth')}</h3>
    <p class="help">${t('reports.alarmHealthHelp', { acceptable: b.perHourAcceptable, manageable: b.perHourManageable, flood: b.floodAlarms, minutes: b.floodWindowMinutes, standing: b.standingFewerThan, source: b.source })}</p>
    ${h.days.length === 0 ? html`<p class="muted" data-empty>${t('reports.alarmHealthNone')}</p>` : html`<div class="scroll"><table>
      <thead><tr><th>${t('reports.date')}</th><th class="n">${t('reports.raised')}</th><th class="n">${t('reports.perHour')}</th><th class="n">${t('reports.peakPer10Min')}</th>
        <th class="n">${t('reports.floodMinutes')}</th><th class="n">${t('reports.topTenShare')}</th><th class="n">${t('reports.chattering')}</th><th class="n">${t('reports.standing')}</th>
        <th class="n">${t('reports.criticalAcked')}</th><th class="n">${t('reports.ackP50')}</th><th class="n">${t('reports.ackP90')}</th></tr></thead>
      <tbody>${h.days.map((d, i) => html`<tr data-day=${d.date}>
        <td>${localDate(d.date)}${i === h.days.length - 1 && inProgress ? html` <span class="muted">${t('reports.soFar')}</span>` : ''}</td>
        <td class="n">${d.raised}${d.silenced > 0 ? html` <span class="muted" title=${t('reports.silencedHelp')}>+${d.silenced}</span>` : ''}</td>
        ${cell(d.perHour, d.perHour !== null && d.perHour > b.perHourManageable, num(d.perHour))}
        ${cell(d.peakPer10Min, d.peakPer10Min > b.peakPer10MinMax)}
        ${cell(d.floodMinutes, d.floodPct !== null && d.floodPct > b.floodPctMax, d.floodMinutes === 0 ? '0' : `${num(d.floodMinutes)} (${pct(d.floodPct)})`)}
        ${cell(d.topTenSharePct, false, pct(d.topTenSharePct))}
        ${cell(d.chattering.length, d.chattering.length > b.chatteringMax)}
        ${cell(d.standing.length, d.standing.length >= b.standingFewerThan)}
        ${cell(d.criticalAck.raised, d.criticalAck.unacknowledged > 0, `${d.criticalAck.acknowledged} / ${d.criticalAck.raised}`)}
        <td class="n">${seconds(d.criticalAck.p50Seconds)}</td><td class="n">${seconds(d.criticalAck.p90Seconds)}</td>
      </tr>`)}</tbody>
    </table></div>`}
    ${detailed.map((d) => html`<details class="health-day" data-day=${d.date} open=${h.days.length === 1}>
      <summary>${localDate(d.date)}</summary>
      <div class="two">
        <table data-list="top">
          <caption>${t('reports.topSources')}</caption>
          <tbody>${d.topSources.map((x) => html`<tr><td>${key(x)}</td><td class="n">${x.count}</td><td class="n">${pct(x.sharePct)}</td></tr>`)}</tbody>
        </table>
        <div>
          ${d.chattering.length > 0 && html`<table data-list="chattering">
            <caption>${t('reports.chatteringAlarms')}</caption>
            <tbody>${d.chattering.map((x) => html`<tr><td>${key(x)}</td><td class="n bad">${t('reports.perMinute', { n: x.maxPerMinute })}</td><td class="n">${t('reports.raises', { n: x.raises })}</td></tr>`)}</tbody>
          </table>`}
          ${d.standing.length > 0 && html`<table data-list="standing">
            <caption>${t('reports.standingAlarms')}</caption>
            <tbody>${d.standing.map((x) => html`<tr><td><span class=${`badge sev-${x.severity}`}>${label('severity', x.severity)}</span> ${key(x)}</td><td>${dateTime(x.firstSeen, r.timeZone)}</td><td class="n">${t('reports.hours', { n: num(x.hoursOpen) })}</td></tr>`)}</tbody>
          </table>`}
        </div>
      </div>
    </details>`)}
  </section>`;
}

/** Guard rounds per route and night, with the checkpoints and rounds missed. */
function Patrol({ r }) {
  const p = r.patrol;
  if (p.nights.length === 0) {
    return html`<section data-section="patrol">
      <h3>${t('reports.patrol')}</h3>
      <p class="muted" data-empty>${t(onSite(r.site, 'patrol') ? 'reports.patrolNoneDue' : 'reports.patrolNone')}</p>
    </section>`;
  }
  return html`<section data-section="patrol">
    <h3>${t('reports.patrol')} <span class="muted">${t('reports.completion')} ${pct(p.completionPct)}</span></h3>
    <div class="kpis">
      <${Kpi} name=${t('reports.scansDue')} value=${p.scansDue} />
      <${Kpi} name=${t('reports.scansMade')} value=${p.scansMade} />
      <${Kpi} name=${t('reports.completion')} value=${pct(p.completionPct)} />
    </div>
    <p class="help">${t('reports.patrolHelp')}</p>
    <div class="scroll"><table>
      <thead><tr><th>${t('reports.route')}</th><th>${t('reports.night')}</th><th class="n">${t('reports.checkpoints')}</th><th class="n">${t('reports.scansDue')}</th>
        <th class="n">${t('reports.scansMade')}</th><th class="n">${t('reports.completion')}</th><th>${t('reports.missed')}</th></tr></thead>
      <tbody>${p.nights.map((n) => html`<tr data-route=${n.route} data-night=${n.night}>
        <td>${n.route === 'site' ? t('reports.noRoute') : n.route}</td><td>${localDate(n.night)}</td>
        <td class="n">${n.checkpoints}</td><td class="n">${n.scansDue}</td><td class="n">${n.scansMade}</td><td class="n">${pct(n.completionPct)}</td>
        <td class="missed">${n.missed.length === 0 ? html`<span class="muted">${t('common.none')}</span>`
          : n.missed.map((m) => html`<div data-missed=${m.device}>${deviceLink(m.device)} <span class="muted">${placeText(r.site, m.zone)}</span> · ${rounds(m.rounds)}</div>`)}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

/** Per lift: available (online and in normal mode), trips, trapped passengers. */
function Lifts({ r }) {
  const l = r.lifts;
  if (l.devices.length === 0) {
    return html`<section data-section="lifts">
      <h3>${t('reports.lifts')}</h3>
      <p class="muted" data-empty>${t(onSite(r.site, 'lift') ? 'reports.liftsNoSpan' : 'reports.liftsNone')}</p>
    </section>`;
  }
  return html`<section data-section="lifts">
    <h3>${t('reports.lifts')} <span class="muted">${t('reports.liftAvailability')} ${pct(l.availabilityPct)}</span></h3>
    <div class="scroll"><table>
      <thead><tr><th>${t('common.device')}</th><th>${t('common.zone')}</th><th class="n">${t('reports.liftAvailability')}</th><th class="n">${t('reports.trips')}</th><th class="n">${t('reports.trapped')}</th></tr></thead>
      <tbody>${l.devices.map((d) => html`<tr data-lift=${d.device}>
        <td>${deviceLink(d.device)}</td><td>${placeText(r.site, d.zone)}</td><td class="n">${pct(d.availabilityPct)}</td><td class="n">${num(d.trips, 0)}</td>
        <td class="n">${d.trapped}${d.trappedAt.length > 0 && html`<div class="muted times">${d.trappedAt.slice(0, 5).map((at) => dateTime(at, r.timeZone)).join(' · ')}${d.trappedAt.length > 5 ? ' …' : ''}</div>`}</td>
      </tr>`)}</tbody>
    </table></div>
    <p class="help">${t('reports.liftsHelp')}</p>
  </section>`;
}

/** Per pump set: run-hours, starts, dry runs and pump faults. */
function Pumps({ r }) {
  const devices = r.pumps.devices;
  if (devices.length === 0) {
    return html`<section data-section="pumps">
      <h3>${t('reports.pumps')}</h3>
      <p class="muted" data-empty>${t('reports.pumpsNone')}</p>
    </section>`;
  }
  const quiet = (d) => d.runHours === 0 && d.starts === 0 && d.dryRuns === 0 && d.pumpFaults === 0;
  return html`<section data-section="pumps">
    <h3>${t('reports.pumps')}</h3>
    <div class="scroll"><table>
      <thead><tr><th>${t('common.device')}</th><th>${t('common.zone')}</th><th class="n">${t('reports.runHours')}</th><th class="n">${t('reports.starts')}</th><th class="n">${t('reports.dryRuns')}</th><th class="n">${t('reports.pumpFaults')}</th></tr></thead>
      <tbody>${devices.map((d) => html`<tr data-pump=${d.device} class=${quiet(d) ? 'muted' : ''}>
        <td>${deviceLink(d.device)}</td><td>${placeText(r.site, d.zone)}</td><td class="n">${t('reports.hours', { n: num(d.runHours) })}</td><td class="n">${num(d.starts, 0)}</td>
        <td class=${`n${d.dryRuns > 0 ? ' bad' : ''}`}>${d.dryRuns}</td><td class=${`n${d.pumpFaults > 0 ? ' bad' : ''}`}>${d.pumpFaults}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

/** Energy and water per building against the period before (the month before, for a month). */
function EnergyUse({ r }) {
  const use = r.energyUse;
  if (!use || (use.energy.length === 0 && use.water.length === 0)) {
    return html`<section data-section="energyUse">
      <h3>${t('reports.energyUse')}</h3>
      <p class="muted" data-empty>${t('reports.energyUseNone')}</p>
    </section>`;
  }
  const change = (p) => (p === null ? '—' : `${p > 0 ? '+' : ''}${num(p)} %`);
  const rows = [...use.energy.map((b) => ({ ...b, kind: 'energy' })), ...use.water.map((b) => ({ ...b, kind: 'water' }))];
  return html`<section data-section="energyUse">
    <h3>${t('reports.energyUse')}</h3>
    <div class="scroll"><table>
      <thead><tr><th>${t('devices.building')}</th><th>${t('reports.useKind')}</th><th class="n">${t('reports.useNow')}</th><th class="n">${t('reports.usePrevious')}</th><th class="n">${t('reports.useChange')}</th><th class="n">${t('reports.useCost')}</th></tr></thead>
      <tbody>${rows.map((b) => html`<tr data-use=${`${b.kind}/${b.building}`}>
        <td>${b.names?.[language()] && b.names[language()] !== b.building ? b.names[language()] : buildingCell(r.site, b.building)}</td><td>${t(`reports.use.${b.kind}`)}</td>
        <td class="n">${num(b.consumption, 3)} ${b.unit}</td><td class="n">${num(b.previous, 3)} ${b.unit}</td>
        <td class=${`n${b.changePct !== null && b.changePct > 10 ? ' bad' : ''}`}>${change(b.changePct)}</td><td class="n">${b.cost === undefined ? '—' : num(b.cost, 2)}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
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
