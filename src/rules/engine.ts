/**
 * The rule engine: attaches each rule's condition (HA trigger style: attach answers a detach), routes the
 * bus's messages to them by kind, and turns their edges into alarms, work orders and commands through the
 * injected RuleActions (house style §2: rules → bus and RuleActions). A failing condition is logged and
 * detached alone; the other rules go on.
 */
import type { Bus } from '../bus.js';
import type { Failures } from '../failures.js';
import { KIND_NAMES } from '../devices/kinds/index.js';
import type { Logger } from '../log.js';
import type { RuleActions } from './actions.js';
import { realClock, type Cancel, type Clock } from './clock.js';
import { conditionOf } from './conditions/index.js';
import type { ConditionContext, HistoryReader, OnChange } from './conditions/types.js';
import { gate } from './during.js';
import { applyChange, type ActionFailed } from './effects.js';
import { compileMatch, devicesMatching } from './match.js';
import { Router } from './router.js';
import type { Rule } from './schema.js';
import { MemoryRuleStateStore, RuleState, type RuleStateStore } from './state.js';

export interface RuleEngineOptions {
  bus: Bus;
  actions: RuleActions;
  log: Logger;
  /** Site local time for `during` and schedules (config TZ). */
  timeZone: string;
  /** Where condition state outlives a restart; in memory (reloads only) when not given. */
  state?: RuleStateStore;
  /** Real time by default; `simulateRule` passes a virtual clock. */
  clock?: Clock;
  /** Condition state is written at most this often per rule (and at detach); default 1 s. */
  saveIntervalMs?: number;
  /** Where a failed action is counted and logged; without it, each failure is logged. */
  failures?: Failures;
  /** Stored readings for the conditions that learn from history (contract §13 `anomaly`). */
  history?: HistoryReader;
}

/** One attached rule: what to undo at detach. */
interface Attached {
  rule: Rule;
  state: RuleState;
  detach?: () => void;
  unsubscribes: Array<() => void>;
  timers: Set<Cancel>;
  detached: boolean;
}

export class RuleEngine {
  /** The stage its failures are counted under. */
  readonly name = 'rules';
  private rules: readonly Rule[] = [];
  private readonly attached = new Map<string, Attached>();
  private running = false;
  private router?: Router;
  private defaultStore?: MemoryRuleStateStore;
  /** Rules attached since this engine was made: a later attach is a reload, not the gateway's start. */
  private readonly attachedBefore = new Set<string>();

  constructor(private readonly opts: RuleEngineOptions) {}

  /** Subscribes to the bus once and attaches the rules set so far. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { bus, actions } = this.opts;
    const router = new Router((id) => actions.device(id)?.tags);
    this.router = router;
    bus.on('telemetryAccepted', this, (m) => router.telemetry(m));
    bus.on('eventAccepted', this, (m) => router.event(m));
    bus.on('statusReceived', this, (m) => router.status(m));
    // A dropped connection (last will or keep-alive) reaches the registry, not always the status topic.
    bus.on('deviceStatusChanged', this, (m) => router.status(m));
    bus.on('commandResultReceived', this, (m) => router.activity(m));
    this.attachAll();
  }

  /** Detaches every rule (saving its state), clears every timer and bus listener. Idempotent. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.opts.bus.removeListeners(this);
    this.detachAll();
    this.router = undefined;
  }

  /** Swaps the rule set: the old rules are detached (state saved) and the new ones attached (state restored). */
  setRules(rules: readonly Rule[]): void {
    this.rules = [...rules];
    if (this.running) {
      this.detachAll();
      this.attachAll();
    }
    try {
      this.store.retain?.(this.rules.map((r) => r.id));
    } catch (err) {
      this.opts.log.error({ err }, 'rule state of removed rules not deleted');
    }
  }

  /** The rules set (attached or not: disabled ones, or any before start). */
  loaded(): readonly Rule[] {
    return this.rules;
  }

  /** Ids of the rules attached now (a failed condition detaches its rule). */
  active(): string[] {
    return [...this.attached.keys()];
  }

  private readonly actionFailed: ActionFailed = (stage, err, context) => {
    if (this.opts.failures) this.opts.failures.report(stage, err, context);
    else this.opts.log.error({ err, ...context }, 'rule action failed');
  };

  private get store(): RuleStateStore {
    // The default lives as long as the engine, so a reload keeps state without a store being given.
    this.defaultStore ??= new MemoryRuleStateStore();
    return this.opts.state ?? this.defaultStore;
  }

  private attachAll(): void {
    for (const rule of this.rules) if (rule.enabled) this.attach(rule);
    this.opts.log.info({ rules: this.attached.size, disabled: this.rules.filter((r) => !r.enabled).length }, 'rules attached');
  }

  private detachAll(): void {
    for (const a of [...this.attached.values()]) this.detach(a);
  }

  private attach(rule: Rule): void {
    const { log, actions, timeZone } = this.opts;
    const timers = new Set<Cancel>();
    const clock = this.trackedClock(timers, () => a);
    const state = new RuleState(rule.id, this.initialState(rule.id), this.store, clock, this.opts.saveIntervalMs ?? 1000, (err) =>
      log.error({ err, rule: rule.id }, 'rule state not saved'),
    );
    const a: Attached = { rule, state, timers, unsubscribes: [], detached: false };
    let onChange: OnChange = (c) => {
      if (!a.detached) applyChange(rule, c, actions, this.actionFailed);
    };
    const condition = conditionOf(rule.when);
    try {
      const during = rule.when.during && gate({ window: rule.when.during, pulse: condition.pulse, clock, timeZone, state }, onChange);
      if (during) onChange = during.onChange;
      const detach = condition.attach(this.context(a, clock, timeZone), rule.when, onChange);
      a.detach = () => {
        detach();
        if (during) during.detach();
      };
      this.attached.set(rule.id, a);
    } catch (err) {
      log.error({ err, rule: rule.id }, 'rule failed to attach');
      this.detach(a);
    }
  }

  private initialState(rule: string): Map<string, unknown> {
    try {
      return this.store.load(rule);
    } catch (err) {
      this.opts.log.error({ err, rule }, 'rule state not loaded; starting afresh');
      return new Map();
    }
  }

  private context(a: Attached, clock: Clock, timeZone: string): ConditionContext {
    const { rule } = a;
    const kinds = rule.match.kind ?? KIND_NAMES;
    const match = compileMatch(rule.match, true);
    const devices = () => devicesMatching(rule.match, this.opts.actions.devices());
    const resumed = !this.attachedBefore.has(rule.id);
    this.attachedBefore.add(rule.id);
    return {
      rule: rule.id,
      clock,
      timeZone,
      resumed,
      state: a.state,
      devices,
      sites: () => rule.match.site ?? [...new Set(devices().map((d) => d.site))],
      history: this.opts.history,
      subscribe: (subs) => {
        const remove = this.router!.add(kinds, match, subs, { fail: (err) => this.fail(a, err) });
        a.unsubscribes.push(remove);
        return remove;
      },
    };
  }

  /** The engine's clock for one rule: its timers are tracked (cancelled at detach) and their failures isolated. */
  private trackedClock(timers: Set<Cancel>, owner: () => Attached): Clock {
    const clock = this.opts.clock ?? realClock;
    return {
      now: () => clock.now(),
      at: (due, fn) => {
        const cancel = () => {
          timers.delete(cancel);
          inner();
        };
        const inner = clock.at(due, () => {
          timers.delete(cancel);
          const a = owner();
          if (a.detached) return;
          try {
            fn();
          } catch (err) {
            this.fail(a, err);
          }
        });
        timers.add(cancel);
        return cancel;
      },
    };
  }

  /** A condition threw: log it with the rule and detach that rule alone (house style §4). */
  private fail(a: Attached, err: unknown): void {
    this.opts.log.error({ err, rule: a.rule.id }, 'rule condition failed; rule detached');
    this.detach(a);
  }

  private detach(a: Attached): void {
    if (a.detached) return;
    a.detached = true;
    this.attached.delete(a.rule.id);
    try {
      a.detach?.();
    } catch (err) {
      this.opts.log.error({ err, rule: a.rule.id }, 'rule failed to detach');
    }
    for (const remove of a.unsubscribes) remove();
    for (const cancel of [...a.timers]) cancel();
    a.state.flush();
  }
}
