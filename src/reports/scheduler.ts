/**
 * The monthly service reports on disk: `<dir>/<site>/<YYYY-MM>.json` and `.csv` for every site that has
 * devices. Written on a cron schedule (REPORTS_CRON, default 00:05 local time on the 1st) for the month
 * that just ended, and at start for last month where a file is missing (the box may have been off on the
 * 1st). A report that cannot be made (InfluxDB down) is logged and tried again at the next start or run.
 */
import { access, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import { writeSynced } from '../shared/durable-file.js';
import { serviceReportCsv } from './csv.js';
import type { ServiceReport } from './model.js';
import { previousMonthStart, type Period } from './period.js';

export interface ReportSchedulerDeps {
  /** `DATA_DIR/reports`. */
  dir: string;
  /** node-cron expression, read in `timeZone`. */
  cron: string;
  timeZone: string;
  reports: {
    sites(): string[];
    build(site: string, period: Period, start: string): Promise<ServiceReport>;
  };
  log: Logger;
  /** Epoch ms; the wall clock unless a test gives another. */
  now?: () => number;
}

/** One report to write: a site's month, by its first day. */
interface Job {
  site: string;
  month: string;
}

export class ReportScheduler {
  readonly name = 'report scheduler';
  private task?: ScheduledTask;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Reports that failed, tried again at the next run (keyed `site month`). */
  private readonly failed = new Map<string, Job>();

  constructor(private readonly deps: ReportSchedulerDeps) {}

  /** Arms the schedule and, in the background, writes last month's reports that are missing. */
  start(): void {
    const { log } = this.deps;
    this.stopped = false;
    this.task = cron.createTask(this.deps.cron, () => this.enqueue(true), {
      timezone: this.deps.timeZone,
      name: 'service-reports',
      noOverlap: true,
      logger: {
        info: (message) => log.debug({ message }, 'report schedule'),
        warn: (message) => log.warn({ message }, 'report schedule'),
        error: (message, err) => log.error({ err: err ?? message }, 'report schedule failed'),
        debug: (message) => log.debug({ message }, 'report schedule'),
      },
    });
    // An inline task starts synchronously. The run at start is not awaited: run() logs what fails, and
    // stop() and settled() wait for it.
    void this.task.start();
    void this.enqueue(false);
    log.info({ cron: this.deps.cron, timeZone: this.deps.timeZone, dir: this.deps.dir }, 'report schedule armed');
  }

  /** Disarms the schedule and waits for the report being written, if any; the rest wait for the next run. */
  async stop(): Promise<void> {
    this.stopped = true;
    const task = this.task;
    this.task = undefined;
    await task?.destroy();
    await this.running;
  }

  /** Resolves once every run asked for so far is done. */
  settled(): Promise<void> {
    return this.running;
  }

  /** Runs one after the other, never two at once. */
  private enqueue(scheduled: boolean): Promise<void> {
    this.running = this.running.then(() => this.run(scheduled));
    return this.running;
  }

  /**
   * A scheduled run writes last month's report of every site (again, if it exists: late data from the spool
   * may have arrived); the run at start only those missing. Both retry the reports that failed before.
   */
  private async run(scheduled: boolean): Promise<void> {
    let jobs: Job[];
    try {
      const month = previousMonthStart((this.deps.now ?? Date.now)(), this.deps.timeZone);
      jobs = this.deps.reports.sites().map((site) => ({ site, month }));
    } catch (err) {
      this.deps.log.error({ err }, 'reports not written');
      return;
    }
    const retries = [...this.failed.values()].filter((f) => !jobs.some((j) => j.site === f.site && j.month === f.month));
    for (const job of [...jobs, ...retries]) {
      if (this.stopped) return;
      if (!scheduled && !this.failed.has(key(job)) && (await this.written(job))) continue;
      await this.write(job);
    }
  }

  private async write(job: Job): Promise<void> {
    const { site, month } = job;
    try {
      const report = await this.deps.reports.build(site, 'month', month);
      const base = this.file(job);
      await writeAtomic(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
      this.deps.log.info({ site, month: month.slice(0, 7), file: `${base}.json` }, 'report written');
      await writeAtomic(`${base}.csv`, serviceReportCsv(report));
      this.deps.log.info({ site, month: month.slice(0, 7), file: `${base}.csv` }, 'report written');
      this.failed.delete(key(job));
    } catch (err) {
      this.failed.set(key(job), job);
      this.deps.log.warn({ err, site, month: month.slice(0, 7) }, 'report not written; retried at the next start or run');
    }
  }

  /** True when both files of the job exist. */
  private async written(job: Job): Promise<boolean> {
    const base = this.file(job);
    try {
      await Promise.all([access(`${base}.json`), access(`${base}.csv`)]);
      return true;
    } catch {
      // Missing (or unreadable): writing it is the answer either way.
      return false;
    }
  }

  /** The path without extension: `<dir>/<site>/<YYYY-MM>`. */
  private file(job: Job): string {
    return join(this.deps.dir, job.site, job.month.slice(0, 7));
  }
}

const key = (job: Job) => `${job.site} ${job.month}`;

/** Writes `text` to a temporary file, syncs it and renames it over `path`: a reader sees the old file or the new one. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeSynced(path, text);
}
