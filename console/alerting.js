// What a life-safety or critical alarm does to the desk besides its card: it sounds until acknowledged (with a
// mute that expires by itself), and the browser tab's title flashes. The banner is drawn by app.js.
import { alarmOrder } from './format.js';
import { label } from './i18n.js';
import { placeText } from './sites.js';
import { changed, isAlarming, store, subscribe } from './store.js';

/** How long the mute button silences the sound; `?mute=<seconds>` or localStorage `muteSeconds` changes it. */
const DEFAULT_MUTE_S = 120;
export function muteMs() {
  const asked = new URLSearchParams(location.search).get('mute') ?? localStorage.getItem('muteSeconds');
  const s = Number(asked);
  return (Number.isFinite(s) && s >= 1 && s <= 3600 ? s : DEFAULT_MUTE_S) * 1000;
}

/** The open, unacknowledged life-safety and critical alarms, most urgent first: life safety, then as the desk works them. */
export function alarmingNow() {
  return [...store.alarms.values()].filter(isAlarming).sort((a, b) => (a.lifeSafety ? 0 : 1) - (b.lifeSafety ? 0 : 1) || alarmOrder(a, b));
}

/** Whether the mute covers this alarm now: it was sounding when the mute was pressed, and the mute has not run out. */
export function isMuted(a, now = Date.now()) {
  return now < store.mute.until && store.mute.ids.has(a.id);
}

/** Mutes what sounds now for the mute's time; an alarm that comes in meanwhile still sounds. */
export function mute() {
  store.mute = { until: Date.now() + muteMs(), ids: new Set(alarmingNow().map((a) => a.id)) };
  tick();
  changed();
}

export function unmute() {
  store.mute = { until: 0, ids: new Set() };
  tick();
  changed();
}

// The sound: a WebAudio oscillator, no audio files. Life safety plays the evacuation pattern of ISO 8201 (three
// half-second tones, then a pause: 4 s a cycle); another critical alarm a slower two-tone call (2 s a cycle).
const PATTERNS = {
  lifeSafety: { cycleMs: 4000, tones: [[0, 0.5, 950], [1, 0.5, 950], [2, 0.5, 950]] },
  critical: { cycleMs: 2000, tones: [[0, 0.35, 880], [0.45, 0.35, 660]] },
};
let audio;
let audioFailed = false;
let master;
let playing;
let cycleTimer;

function context() {
  if (!audio && !audioFailed) {
    try {
      audio = new AudioContext();
      audio.onstatechange = () => tick();
    } catch (err) {
      // A browser without WebAudio still shows the banner and flashes the title.
      audioFailed = true;
      console.warn('alarm sound unavailable', err);
    }
  }
  return audio;
}

function play(name) {
  if (playing === name) return;
  silence();
  const ctx = context();
  if (!ctx) return;
  playing = name;
  master = ctx.createGain();
  master.gain.value = 0.25;
  master.connect(ctx.destination);
  const out = master;
  const cycle = () => {
    // A suspended context's clock stands still: tones scheduled on it would all sound at once later.
    if (ctx.state === 'running') {
      for (const [at, length, hz] of PATTERNS[name].tones) {
        const osc = ctx.createOscillator();
        osc.type = 'square';
        osc.frequency.value = hz;
        osc.connect(out);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + length);
      }
    } else ctx.resume().catch(() => {});
    cycleTimer = setTimeout(cycle, PATTERNS[name].cycleMs);
  };
  cycle();
}

function silence() {
  clearTimeout(cycleTimer);
  playing = undefined;
  if (master) {
    // Cutting the output stops the tones already scheduled at once.
    master.gain.value = 0;
    master.disconnect();
    master = undefined;
  }
}

/** A click or key press is the gesture browsers want before they let a page make sound. */
export function enableSound() {
  const ctx = context();
  ctx?.resume().then(tick, () => {});
}

const TITLE_FLASH_MS = 1000;
/** The tab's title when nothing flashes: the count of open critical alarms, then the console's name. */
let baseTitle = () => document.title;

function tick() {
  const now = Date.now();
  if (store.mute.until && now >= store.mute.until) {
    store.mute = { until: 0, ids: new Set() };
    changed();
  }
  const alarming = alarmingNow();
  const loud = alarming.filter((a) => !isMuted(a, now));
  if (loud.length) play(loud.some((a) => a.lifeSafety) ? 'lifeSafety' : 'critical');
  else silence();
  const blocked = loud.length > 0 && audio?.state !== 'running';
  if (blocked !== store.audioBlocked) {
    store.audioBlocked = blocked;
    changed();
  }
  document.body.dataset.sounding = String(loud.length > 0);
  document.body.dataset.audio = audio?.state ?? 'none';
  document.body.dataset.alarming = String(alarming.length > 0);
  // The title alternates between the most urgent alarm and the usual title until every such alarm is acknowledged.
  const flash = alarming.length > 0 && Math.floor(now / TITLE_FLASH_MS) % 2 === 0;
  const top = alarming[0];
  const title = flash ? `${icon(top)} ${label('type', top.type, top.kind)} — ${top.zone ? placeText(top.site, top.zone, top.zoneName) : top.source}` : baseTitle();
  document.body.dataset.titleFlashing = String(alarming.length > 0);
  if (document.title !== title) document.title = title;
}

function icon(a) {
  if (a.kind === 'fire' || a.type.includes('fire')) return '🔥';
  if (a.lifeSafety) return '🆘';
  return '🚨';
}

/** Starts watching the store (at sign-in); answers the function that stops it all (at sign-out). */
export function startAlerting(title) {
  baseTitle = title;
  const gesture = () => {
    if (!audio || audio.state !== 'running') enableSound();
  };
  addEventListener('pointerdown', gesture, true);
  addEventListener('keydown', gesture, true);
  const off = subscribe(tick);
  const timer = setInterval(tick, 250);
  tick();
  return () => {
    off();
    clearInterval(timer);
    removeEventListener('pointerdown', gesture, true);
    removeEventListener('keydown', gesture, true);
    silence();
    document.body.dataset.sounding = 'false';
    document.body.dataset.alarming = 'false';
    document.body.dataset.titleFlashing = 'false';
    document.title = title();
  };
}
