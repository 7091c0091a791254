import { readFile } from 'node:fs/promises';

/**
 * CPU % (of one core), peak RSS and steady RSS (the median of the second half of the run, after V8's memory
 * reducer has had its chance) of a process, sampled once a second from /proc.
 */
export function sampler(pid: number) {
  const read = async () => {
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { ticks: Number(stat[11]) + Number(stat[12]), rssKb };
  };
  let first: { ticks: number; at: number } | undefined;
  let last = { ticks: 0, at: 0 };
  const rss: number[] = [];
  const timer = setInterval(() => {
    read()
      .then((s) => {
        const at = Date.now();
        first ??= { ticks: s.ticks, at };
        last = { ticks: s.ticks, at };
        rss.push(s.rssKb);
      })
      .catch(() => undefined); // the process has exited: the samples so far stand
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      const seconds = first ? (last.at - first.at) / 1000 : 0;
      // Linux reports CPU time in clock ticks of 1/100 s.
      const cpuPct = first && seconds > 0 ? (last.ticks - first.ticks) / seconds : 0;
      const secondHalf = rss.slice(Math.floor(rss.length / 2)).sort((a, b) => a - b);
      const steadyKb = secondHalf[Math.floor(secondHalf.length / 2)] ?? 0;
      return { cpuPct: Math.round(cpuPct), rssMaxMb: Math.round(Math.max(0, ...rss) / 1024), rssSteadyMb: Math.round(steadyKb / 1024) };
    },
  };
}
