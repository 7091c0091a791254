import type { AlarmKey, Severity } from '../alarms/model.js';
import type { AlarmService } from '../alarms/service.js';
import type { Bus } from '../bus.js';
import type { Config } from '../config/env.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../storage/state/store.js';
import { compact } from '../shared/compact.js';
import { DueTimers } from '../shared/due-timers.js';
import { sortableId } from '../shared/ids.js';
import { DEFAULT_LANGUAGE, inEveryLanguage, inLanguage, NO_SITES, type Language, type SitePlaces } from '../shared/language.js';
import { SerialPublisher } from '../shared/serial-publisher.js';
import { wallClock } from '../shared/wall-clock.js';
import type { Publish, Topics } from '../topics.js';
import {
  applyChange,
  isFinal,
  isSettled,
  type Priority,
  type WorkOrder,
  type WorkOrderChange,
  type WorkOrderCreate,
  type WorkOrderPatch,
} from './model.js';
import { WorkOrderStore, type WorkOrderFilter } from './work-order-store.js';

export type { WorkOrderFilter } from './work-order-store.js';

export interface WorkOrderServiceDeps {
  store: StateStore;
  bus: Bus;
  topics: Topics;
  /** The broker's publish (house style §2: never the broker itself). */
  publish: Publish;
  alarms: AlarmService;
  /** Time from creation to dueAt, by priority. */
  dueMs: Config['workOrderDueMs'];
  /** The sites' languages and zone names (contract §12); default: no site files. */
  places?: SitePlaces;
  log: Logger;
}

/** The alarm type, and rule name, of an overdue work order; its source is the work order id. */
export const OVERDUE_ALARM = 'workorder_overdue';
const OVERDUE_BY = `rule:${OVERDUE_ALARM}`;

/** The overdue alarm's severity by the work order's priority. */
export const OVERDUE_SEVERITY: Readonly<Record<Priority, Severity>> = { urgent: 'critical', high: 'major', normal: 'major', low: 'major' };

/** The overdue alarm's message in every language; the placeholders are the work order's id, title and due time. */
export const OVERDUE_MESSAGES: Readonly<Record<Language, string>> = {
  'zh-CN': '工单 {workOrder}“{title}”已逾期（应于 {dueAt} 完成）',
  en: 'Work order {workOrder} "{title}" is overdue (due {dueAt})',
};

/** `2025-03-02 16:00` on the wall clock of `timeZone` (what the desk's clock showed when it fell due). */
function wallTime(iso: string, timeZone: string): string {
  const c = wallClock(Date.parse(iso), timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${c.year}-${two(c.month)}-${two(c.day)} ${two(c.hour)}:${two(c.minute)}`;
}

/**
 * OVERDUE_MESSAGES for `wo`, each in one pass, so a title holding `{dueAt}` or `$&` stays as written; the due time
 * on the site's wall clock.
 */
function overdueMessages(wo: WorkOrder, places: SitePlaces): Record<Language, string> {
  const dueAt = wallTime(wo.dueAt, places.timeZone(wo.site));
  const fill = (language: Language) => {
    const vars: Record<string, string> = { workOrder: wo.id, title: wo.titles?.[language] ?? wo.title, dueAt };
    return OVERDUE_MESSAGES[language].replace(/\{(workOrder|title|dueAt)\}/g, (_, name: string) => vars[name]);
  };
  return { 'zh-CN': fill('zh-CN'), en: fill('en') };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Work orders (contract §4): created by people or rules, moved through the transition table, overdue (with an
 * alarm) when dueAt passes before they are resolved. Published retained until closed or cancelled.
 */
export class WorkOrderService {
  readonly name = 'work orders';
  private readonly orders: WorkOrderStore;
  private readonly out: SerialPublisher;
  private readonly timers = new DueTimers();

  constructor(private readonly deps: WorkOrderServiceDeps) {
    this.orders = new WorkOrderStore(deps.store);
    this.out = new SerialPublisher(deps.publish, deps.log);
  }

  /** Republishes every work order that is not closed or cancelled retained, and re-arms the overdue timers. */
  start(): void {
    const live = this.orders.notFinal();
    for (const wo of live) {
      this.out.retain(this.topic(wo), wo);
      this.arm(wo);
    }
    this.deps.log.info({ open: live.length }, 'work orders loaded');
  }

  async stop(): Promise<void> {
    this.timers.clear();
    await this.out.settled();
  }

  /** Resolves once every publish asked for so far is done. */
  settled(): Promise<void> {
    return this.out.settled();
  }

  /** Opens a work order (assigned at once when an assignee is given), linked both ways to `req.alarm`. */
  create(req: WorkOrderCreate): WorkOrder {
    if (req.alarm !== undefined && this.deps.alarms.get(req.alarm)?.site !== req.site) {
      throw new ValidationError('alarm', `alarm ${JSON.stringify(req.alarm)} does not exist on site ${req.site}`);
    }
    const now = Date.now();
    const at = iso(now);
    const history: WorkOrderChange[] = [compact({ at, by: req.by, status: 'open' as const, note: req.note })];
    if (req.assignee !== undefined) history.push({ at, by: req.by, status: 'assigned', assignee: req.assignee });
    const places = this.deps.places ?? NO_SITES;
    const language = places.language(req.site);
    const titles = inEveryLanguage(req.title);
    const wo: WorkOrder = compact({
      id: sortableId('wo'),
      site: req.site,
      title: titles[language],
      titles,
      category: req.category,
      priority: req.priority,
      status: req.assignee !== undefined ? ('assigned' as const) : ('open' as const),
      description: req.description === undefined ? undefined : inLanguage(req.description, language),
      alarm: req.alarm,
      device: req.device,
      zone: req.zone,
      ...places.place(req.site, req.zone),
      rule: req.rule,
      ...(req.due !== undefined && { late: true as const, due: req.due }),
      createdAt: at,
      dueAt: iso(now + this.deps.dueMs[req.priority]),
      overdue: false,
      assignee: req.assignee,
      history,
    });
    this.orders.insert(wo);
    if (wo.alarm !== undefined) this.deps.alarms.link(wo.alarm, wo.id);
    this.out.retain(this.topic(wo), wo);
    this.arm(wo);
    this.deps.log.info({ workOrder: wo.id, site: wo.site, priority: wo.priority, by: req.by }, 'work order created');
    this.deps.bus.emit('workOrderChanged', { workOrder: wo, change: 'created' });
    return wo;
  }

  /**
   * Changes status, assignee or both, with a note; every change is a history entry. An illegal move, or any
   * change to a closed or cancelled order, is `illegal_transition` (409).
   */
  update(id: string, patch: WorkOrderPatch, by: string): WorkOrder {
    if (patch.status === undefined && patch.assignee === undefined && patch.note === undefined) {
      throw new ValidationError('', 'give at least one of status, assignee and note');
    }
    const prev = this.require(id);
    const wo = applyChange(prev, patch, by, iso(Date.now()));
    if (wo === prev) return prev;
    this.orders.update(wo);
    this.afterStatus(prev, wo);
    if (isFinal(wo.status)) this.out.finish(this.topic(wo), wo);
    else this.out.retain(this.topic(wo), wo);
    this.deps.log.info({ workOrder: id, site: wo.site, status: wo.status, assignee: wo.assignee, by }, 'work order changed');
    this.deps.bus.emit('workOrderChanged', { workOrder: wo, change: 'updated', previousStatus: prev.status });
    return wo;
  }

  get(id: string): WorkOrder | undefined {
    return this.orders.byId(id);
  }

  require(id: string): WorkOrder {
    const wo = this.orders.byId(id);
    if (!wo) throw new NotFoundError('work order', id);
    return wo;
  }

  /** Work orders matching every given filter, newest first. */
  list(filter: WorkOrderFilter = {}): WorkOrder[] {
    return this.orders.list(filter);
  }

  /** Settled (resolved, closed, cancelled): no more overdue timer, and its overdue alarm clears. Reopened: re-armed. */
  private afterStatus(prev: WorkOrder, wo: WorkOrder): void {
    if (isSettled(wo.status) && !isSettled(prev.status)) {
      this.timers.cancel(wo.id);
      // People settled it: the overdue alarm needs no acknowledgement of its own.
      this.deps.alarms.clearByKey(overdueKey(wo), OVERDUE_BY, true);
    } else if (!isSettled(wo.status) && isSettled(prev.status)) {
      this.arm(wo);
    }
  }

  private arm(wo: WorkOrder): void {
    if (isSettled(wo.status)) return;
    this.timers.set(wo.id, Date.parse(wo.dueAt), () => {
      try {
        this.becameOverdue(wo.id);
      } catch (err) {
        this.deps.log.error({ err, workOrder: wo.id }, 'overdue work order not handled');
      }
    });
  }

  /** dueAt passed before the work was done: mark it overdue and raise its alarm (critical when urgent). */
  private becameOverdue(id: string): void {
    let wo = this.orders.byId(id);
    if (!wo || isSettled(wo.status)) return;
    const key = overdueKey(wo);
    // After a restart the alarm of an order already overdue is still open: raising it again would bump its count.
    if (wo.overdue && this.deps.alarms.openFor(key)) return;
    if (!wo.overdue) {
      wo = { ...wo, overdue: true };
      this.orders.update(wo);
      this.out.retain(this.topic(wo), wo);
      this.deps.log.info({ workOrder: id, site: wo.site, dueAt: wo.dueAt }, 'work order overdue');
      this.deps.bus.emit('workOrderChanged', { workOrder: wo, change: 'overdue' });
    }
    const messages = overdueMessages(wo, this.deps.places ?? NO_SITES);
    this.deps.alarms.raise({
      ...key,
      severity: OVERDUE_SEVERITY[wo.priority],
      rule: OVERDUE_ALARM,
      message: messages[DEFAULT_LANGUAGE],
      messages,
      workOrder: wo.id,
    });
  }

  private topic(wo: WorkOrder): string {
    return this.deps.topics.workOrder(wo.site, wo.id);
  }
}

function overdueKey(wo: WorkOrder): AlarmKey {
  return { site: wo.site, type: OVERDUE_ALARM, source: wo.id };
}
