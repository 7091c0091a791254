// What the desk needs beside an incident's alarms: the plan of each floor with the alarming devices marked, what to
// do per alarm type (the rules' `instructions`), who is on duty and whom to call, and the doors a fire left unlocked.
// Also the dialogs that change an alarm: clear (confirmation and a note, required) and acknowledge with a note.
import { html, useState } from '/vendor/htm-preact.js';
import { api } from '../api.js';
import { defs } from '../definitions.js';
import { Dialog } from '../dialog.js';
import { errorText } from '../errors.js';
import { dateTime, num, when } from '../format.js';
import { label, t } from '../i18n.js';
import { dutyFor, named, placeText } from '../sites.js';
import { changed, putAlarm, store } from '../store.js';
import { FloorPlan } from './plan.js';

/** The rule's instructions for an alarm type in the page's language (definitions §14), if it gives any. */
export function instructionsFor(type) {
  return named(defs().alarms.types.find((x) => x.type === type)?.instructions);
}

/** Whether an alarm is about a fire: the doors of its zone were unlocked for the way out. */
const isFire = (a) => a.kind === 'fire' || a.type.includes('fire');

/** The doors of a site flagged as left unlocked after a fire (device JSON `unlockedAfterFire`). */
export function unlockedDoors(site) {
  return [...store.devices.values()].filter((d) => d.unlockedAfterFire === true && (!site || d.site === site));
}

/** The plans, instructions, duty contacts and unlocked doors of an incident card. */
export function IncidentDetail({ alarms }) {
  const zones = new Map();
  for (const a of alarms) {
    if (!a.zone) continue;
    const key = `${a.site}\u0000${a.zone}`;
    if (!zones.has(key)) zones.set(key, { site: a.site, zone: a.zone, marked: new Set() });
    // An alarm about a zone or a rule (no device) marks nothing.
    if (a.device) zones.get(key).marked.add(a.device);
  }
  const types = [...new Set(alarms.map((a) => a.type))];
  const duty = new Map();
  for (const a of alarms) for (const d of dutyFor(a)) duty.set(`${named(d.name)}|${d.phone}`, d);
  const doors = alarms.some(isFire) ? unlockedDoors(alarms[0].site) : [];
  return html`<div class="incident-detail" data-testid="incident-detail">
    ${[...zones.values()].map((z) => html`<${FloorPlan} key=${`${z.site}/${z.zone}`} site=${z.site} zone=${z.zone} marked=${z.marked} />`)}
    <section class="todo" aria-label=${t('alarms.instructions')}>
      <h3>${t('alarms.instructions')}</h3>
      ${types.map((type) => {
        const text = instructionsFor(type);
        return html`<div class="instructions" data-type=${type}>
          ${types.length > 1 && html`<h4>${label('type', type, alarms.find((a) => a.type === type)?.kind)}</h4>`}
          ${text ? html`<p>${text}</p>` : html`<p class="muted">${t('alarms.noInstructions')}</p>`}
        </div>`;
      })}
    </section>
    <section class="duty" data-testid="duty" aria-label=${t('alarms.duty')}>
      <h3>${t('alarms.duty')}</h3>
      ${duty.size === 0
        ? html`<p class="muted">${t('alarms.noDuty')}</p>`
        : html`<ul>${[...duty.values()].map((d) => html`<li>
            <strong>${named(d.name)}</strong>
            ${d.during && html` <span class="muted">${d.during}</span>`}
            ${d.phone && html` <a class="call" href=${`tel:${d.phone.replace(/[^\d+]/g, '')}`} aria-label=${t('alarms.call', { name: named(d.name), phone: d.phone })}>☎ ${d.phone}</a>`}
          </li>`)}</ul>`}
    </section>
    ${doors.length > 0 && html`<${UnlockedDoors} doors=${doors} />`}
  </div>`;
}

/** Doors a fire left unlocked, still unlocked after the fire alarm ended (until each reports it is locked). */
export function UnlockedDoors({ doors }) {
  return html`<section class="unlocked" data-testid="unlocked-doors">
    <h3>${t('alarms.unlockedDoors')}</h3>
    <ul>${doors.map((d) => html`<li data-device=${d.id}>
      <a href=${`#/devices/${encodeURIComponent(d.id)}`}>${d.id}</a> · ${placeText(d.site, d.zone, d.zoneName)}
    </li>`)}</ul>
  </section>`;
}

/** Posts an acknowledge or clear with its note, keeps the answer; answers the error in words, if any. */
async function change(alarm, action, note) {
  try {
    const updated = await api('POST', `/api/alarms/${encodeURIComponent(alarm.id)}/${action}`, note ? { note } : {});
    // The live stream brings the same change; applying the answer now spares the wait.
    putAlarm(updated);
    changed();
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}

/**
 * Clear asks first: clearing ends the alarm for everyone, so it says so, and the desk writes why (a note, required).
 * `action` is `clear`, or `ack` to acknowledge with a note (optional).
 */
export function AlarmDialog({ alarm, action, onClose }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const clear = action === 'clear';
  const submit = async (e) => {
    e.preventDefault();
    if (clear && !note.trim()) {
      setError(t('alarms.noteRequired'));
      return;
    }
    setBusy(true);
    const err = await change(alarm, action, note.trim());
    setBusy(false);
    if (err) setError(err);
    else onClose();
  };
  const what = `${label('type', alarm.type, alarm.kind)} · ${placeText(alarm.site, alarm.zone, alarm.zoneName)} · ${alarm.device ?? alarm.source}`;
  return html`<${Dialog} title=${clear ? t('alarms.clearTitle') : t('alarms.ackTitle')} onClose=${onClose} testid=${`${action}-dialog`}>
    <form class="note" onSubmit=${submit}>
      <p>${what}</p>
      ${clear && html`<p class="help">${t('alarms.clearHelp')}</p>`}
      <label>${clear ? t('alarms.clearNote') : t('common.note')}
        <textarea name="note" rows="3" maxlength="2000" aria-required=${clear ? 'true' : undefined}
          aria-invalid=${error && clear && !note.trim() ? 'true' : undefined}
          value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
      </label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button class="primary" type="submit" data-action="confirm" disabled=${busy}>${clear ? t('alarms.clearConfirm') : t('alarms.ack')}</button>
        <button type="button" data-action="cancel" onClick=${onClose}>${t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

/**
 * What a forecast rule (when the reading is predicted to cross its level) or an anomaly rule (the device's own
 * baseline for the hour and how far off it is) adds to an alarm, as facts of its card; nothing for other alarms.
 */
export function PredictionFacts({ alarm: a, zone }) {
  return html`
    ${a.eta && html`<div data-testid="alarm-eta"><dt>${t('alarms.eta')}</dt><dd title=${dateTime(a.eta, zone)}><time datetime=${a.eta}>${when(a.eta, zone)}</time></dd></div>`}
    ${typeof a.expected === 'number' && html`<div data-testid="alarm-expected"><dt>${t('alarms.expected')}</dt><dd>${num(a.expected, 2)}</dd></div>`}
    ${typeof a.z === 'number' && html`<div data-testid="alarm-z"><dt title=${t('alarms.zHelp')}>${t('alarms.z')}</dt><dd>${num(a.z, 2)}</dd></div>`}`;
}
