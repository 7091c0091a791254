// The rules in force, and the rule test: replay a rule over stored history and see what it would raise.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { errorText } from '../errors.js';
import { dateTime, localInput, num } from '../format.js';
import { inLanguage, label, language, t } from '../i18n.js';
import { can } from '../roles.js';
import { loadSites, named as localised } from '../sites.js';
import { matchWords, whenWords } from './rule-words.js';

/** A rule's `when` in one line, as the rule file writes it (shown when the console has no words for its form, and on hover). */
function whenText(when) {
  return JSON.stringify(when).replace(/"(\w+)":/g, '$1: ').replace(/"/g, '').replace(/,/g, ', ');
}

/**
 * A rule's description in the page's language: its own entry when the rule gives one per language; a plain text only
 * when it is written in the page's language (as alarm messages are), else it is kept for hovering.
 */
function Description({ text }) {
  if (!text) return null;
  const own = localised(text);
  return typeof text === 'object' || inLanguage(own) ? html`<small class="description">${own}</small>` : null;
}

/** The one kind a rule watches, for the words of its fields and events. */
const kindOf = (d) => (Array.isArray(d.match?.kind) ? d.match.kind[0] : d.match?.kind);

export function RulesPage() {
  const [rules, setRules] = useState();
  const [testing, setTesting] = useState();
  const load = () => get('/api/rules').then(setRules, (err) => setRules(err));
  useEffect(() => { load(); }, []);
  if (!rules) return html`<p class="muted">${t('common.loading')}</p>`;
  if (rules instanceof Error) return html`<p class="error" role="alert">${errorText(rules)}</p>`;
  return html`<section>
    <div class="bar"><h2>${t('rules.title')} <span class="count">${rules.length}</span></h2><${Reloads} onRules=${load} /></div>
    <table class="rules">
      <thead><tr><th>${t('rules.rule')}</th><th>${t('rules.when')}</th><th>${t('rules.does')}</th><th></th></tr></thead>
      <tbody>
        ${rules.map((r) => {
          const d = r.definition;
          return html`<tr data-rule=${r.id} class=${r.enabled ? '' : 'muted'}>
            <td><strong>${d.alarm ? label('type', d.alarm.type, kindOf(d)) : r.id}</strong> <code class="muted">${r.id}</code><br />
              <${Description} text=${r.description} /><br /><small class="muted">${matchWords(d.match)} · <code>${r.file}</code></small></td>
            <td title=${whenText(d.when)}>${whenWords(d.when, d.match) ?? html`<code>${whenText(d.when)}</code>`}</td>
            <td>
              ${d.alarm && html`<span class=${`badge sev-${d.alarm.severity}`}>${label('severity', d.alarm.severity)}</span> ${label('type', d.alarm.type, kindOf(d))}<br />`}
              ${d.workOrder && html`<span>${t('alarms.workOrder')}: ${label('category', d.workOrder.category)} · ${label('priority', d.workOrder.priority ?? 'normal')}</span><br />`}
              ${(d.commands ?? []).map((c) => html`<span class="muted">${label('cmd', c.action)} → ${matchWords(c.match)}</span><br />`)}
            </td>
            <td>${can('POST /api/rules/test') && html`<button onClick=${() => setTesting(r.id)} data-action="test-rule">${t('rules.test')}</button>`}</td>
          </tr>
          ${testing === r.id && html`<tr><td colspan="4"><${RuleTest} id=${r.id} /></td></tr>`}`;
        })}
      </tbody>
    </table>
  </section>`;
}

/** What each reload reads again (the folders are also watched), and the count its answer gives. */
const RELOADS = [
  { what: 'rules', route: 'POST /api/rules/reload', path: '/api/rules/reload', count: (r) => r.rules },
  { what: 'profiles', route: 'POST /api/profiles/reload', path: '/api/profiles/reload', count: (r) => r.profiles },
  { what: 'sites', route: 'POST /api/sites/reload', path: '/api/sites/reload', count: (r) => r.count },
];

/**
 * Reading the rules, profiles and site files again after an edit the folder watch may have missed (a network share):
 * for the roles that may (supervisors and admins). A refused file keeps what is in force, and says why.
 */
function Reloads({ onRules }) {
  const [result, setResult] = useState();
  const [busy, setBusy] = useState(false);
  const shown = RELOADS.filter((x) => can(x.route));
  if (shown.length === 0) return null;
  const reload = async (x) => {
    setBusy(true);
    setResult(undefined);
    try {
      const r = await api('POST', x.path);
      setResult({ ok: true, text: t('rules.reloaded', { what: t(`rules.reload.${x.what}`), n: x.count(r) ?? '' }) });
      if (x.what === 'rules') onRules();
      if (x.what === 'sites') await loadSites();
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  return html`<span class="reloads">
    ${shown.map((x) => html`<button disabled=${busy} data-action=${`reload-${x.what}`} onClick=${() => reload(x)}>${t(`rules.reload.${x.what}`)}</button>`)}
    ${result && html`<span class=${result.ok ? 'ok' : 'error'} role="status" data-testid="reload-result">${result.text}</span>`}
  </span>`;
}

/** An outcome's text in the page's language; a rule written in the other language only is not shown in it. */
function outcomeText(o) {
  const text = (o.messages ?? o.titles)?.[language()] ?? o.message ?? o.title;
  return text && inLanguage(text) ? text : undefined;
}

/** What a forecast (eta) or an anomaly (baseline and z) outcome adds, in words; undefined for other rules. */
function predictionText(o) {
  const parts = [
    o.eta && `${t('alarms.eta')} ${dateTime(o.eta)}`,
    typeof o.expected === 'number' && `${t('alarms.expected')} ${num(o.expected, 2)}`,
    typeof o.z === 'number' && `${t('alarms.z')} ${num(o.z, 2)}`,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

function RuleTest({ id }) {
  const now = Date.now();
  const [from, setFrom] = useState(localInput(now - 86_400_000));
  // The end of the current minute: the input has minutes only, and what just happened must be inside.
  const [to, setTo] = useState(localInput(now + 60_000));
  const [result, setResult] = useState();
  const [busy, setBusy] = useState(false);
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      setResult(await api('POST', '/api/rules/test', { id, from: new Date(from).toISOString(), to: new Date(to).toISOString() }));
    } catch (err) {
      setResult(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="ruletest" onSubmit=${run}>
    <label>${t('rules.from')}<input type="datetime-local" name="from" value=${from} onInput=${(e) => setFrom(e.target.value)} /></label>
    <label>${t('rules.to')}<input type="datetime-local" name="to" value=${to} onInput=${(e) => setTo(e.target.value)} /></label>
    <button class="primary" type="submit" disabled=${busy}>${busy ? t('common.loading') : t('rules.run')}</button>
    ${result instanceof Error && html`<p class="error" role="alert">${errorText(result)}</p>`}
    ${result && !(result instanceof Error) && html`<div class="outcomes" data-testid="rule-test-result">
      <p class="muted">${t('rules.messages', { n: result.messages })}${result.truncated ? ` · ${t('rules.truncated')}` : ''}</p>
      ${result.outcomes.length === 0 ? html`<p>${t('rules.noOutcome')}</p>` : html`<ol class="history">
        ${result.outcomes.map((o) => html`<li>
          <time>${dateTime(o.at)}</time> <strong>${t(`rules.outcome.${o.kind}`)}</strong>
          <span>${o.site} · ${o.source ?? o.device ?? ''}</span>
          <span>${o.type ? label('type', o.type) : o.action ? label('cmd', o.action) : ''}</span>
          ${outcomeText(o) && html`<span class="muted">${outcomeText(o)}</span>`}
          ${predictionText(o) && html`<span class="muted" data-testid="outcome-prediction">${predictionText(o)}</span>`}
        </li>`)}
      </ol>`}
    </div>`}
  </form>`;
}
