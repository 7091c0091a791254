// A floor's or zone's plan (contract §12) with its devices at their positions: the alarming ones marked, the
// others faint. The plan's picture is fetched with the operator's token and shown through an object URL.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { get } from '../api.js';
import { errorText } from '../errors.js';
import { t } from '../i18n.js';
import { placeOf, placeText, planImage } from '../sites.js';
import { store } from '../store.js';

/** Devices the list did not describe with a position, read one by one (GET /api/devices/{id}) once per page load. */
const looked = new Map();

function usePositions(ids, wanted) {
  const [, redraw] = useState(0);
  useEffect(() => {
    if (!wanted) return;
    for (const id of ids) {
      if (store.devices.get(id)?.position || looked.has(id)) continue;
      looked.set(id, null);
      get(`/api/devices/${encodeURIComponent(id)}`).then((d) => {
        looked.set(id, d);
        redraw((n) => n + 1);
      }, () => looked.delete(id));
    }
  }, [ids.join(','), wanted]);
  return (id) => (store.devices.get(id)?.position ? store.devices.get(id) : looked.get(id) ?? store.devices.get(id));
}

/** The plan of `zone` on `site` with the devices in `marked` (ids) marked; nothing when the site's file has no plan for it. */
export function FloorPlan({ site, zone, marked }) {
  const plan = placeOf(site, zone)?.plan;
  const [src, setSrc] = useState();
  const [error, setError] = useState();
  useEffect(() => {
    if (!plan) return undefined;
    let live = true;
    setError(undefined);
    planImage(plan.url).then((url) => live && setSrc(url), (err) => live && setError(err));
    return () => { live = false; };
  }, [plan?.url]);
  const device = usePositions([...marked], Boolean(plan));
  if (!plan) return null;
  const ids = new Set([...store.devices.values()].filter((d) => d.site === site && d.zone === zone).map((d) => d.id));
  for (const id of marked) ids.add(id);
  const devices = [...ids].map(device).filter(Boolean);
  const placed = devices.filter((d) => d.position);
  const unplaced = [...marked].filter((id) => !device(id)?.position);
  // Markers sized to the plan's own units, so they read the same on a small plan and a large one.
  const r = Math.max(plan.width, plan.height) / 70;
  const where = placeText(site, zone);
  return html`<figure class="plan" data-testid="plan" data-zone=${zone}>
    <figcaption>${t('plan.title', { place: where })}</figcaption>
    ${error
      ? html`<p class="error" role="status">${errorText(error)}</p>`
      : html`<svg viewBox=${`0 0 ${plan.width} ${plan.height}`} role="img" preserveAspectRatio="xMidYMid meet"
          aria-label=${t('plan.label', { place: where, devices: [...marked].join(', ') })}>
          ${src && html`<image href=${src} x="0" y="0" width=${plan.width} height=${plan.height} />`}
          ${placed.filter((d) => !marked.has(d.id)).map((d) => html`<circle class="marker" data-device=${d.id} cx=${d.position.x} cy=${d.position.y} r=${r * 0.5}><title>${d.id}</title></circle>`)}
          ${placed.filter((d) => marked.has(d.id)).map((d) => html`<g class="marker alarming" data-device=${d.id} data-alarming="true">
            <circle class="ring" cx=${d.position.x} cy=${d.position.y} r=${r * 1.9} />
            <circle cx=${d.position.x} cy=${d.position.y} r=${r} />
            <text x=${d.position.x} y=${d.position.y - r * 2.3} font-size=${r * 1.4} text-anchor="middle">${d.id}</text>
            <title>${d.id}</title>
          </g>`)}
        </svg>`}
    ${unplaced.length > 0 && html`<p class="help">${t('plan.unplaced', { devices: unplaced.join(', ') })}</p>`}
  </figure>`;
}
