/**
 * A Modbus TCP device to point the gateway (or mbpoll) at:
 *
 *   node --import tsx devices/modbus/cli.ts --port 5020 --unit 1 --holding 0=1234,0,0x42f6,0xe979 --coil 0=1 \
 *     --unit 2 --silent
 *
 * Options after a --unit apply to that unit: --holding/--input ADDR=WORD,... (raw 16-bit words),
 * --coil/--discrete ADDR=0|1,..., --silent, --delay MS, --exception CODE. Ctrl-C prints the requests per
 * unit and function code.
 */
import { parseArgs } from 'node:util';
import { ModbusSimulator, type UnitBehaviour } from './server.js';

type Step = { kind: 'unit'; unitId: number } | { kind: 'holding' | 'input' | 'coil' | 'discrete' | 'delay' | 'exception' | 'silent'; value: string };

function steps(argv: string[]): { host?: string; port?: number; steps: Step[] } {
  const { tokens, values } = parseArgs({
    args: argv,
    tokens: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      unit: { type: 'string', multiple: true },
      holding: { type: 'string', multiple: true },
      input: { type: 'string', multiple: true },
      coil: { type: 'string', multiple: true },
      discrete: { type: 'string', multiple: true },
      delay: { type: 'string', multiple: true },
      exception: { type: 'string', multiple: true },
      silent: { type: 'boolean', multiple: true },
    },
  });
  const out: Step[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === 'host' || t.name === 'port') continue;
    if (t.name === 'unit') out.push({ kind: 'unit', unitId: Number(t.value) });
    else out.push({ kind: t.name as Exclude<Step['kind'], 'unit'>, value: t.value ?? '' });
  }
  return { host: values.host, port: values.port === undefined ? 5020 : Number(values.port), steps: out };
}

/** "10=1,0x2a" → [10, [1, 42]] */
function assignment(text: string): [number, number[]] {
  const [at, list = ''] = text.split('=');
  return [Number(at), list.split(',').map((w) => Number(w))];
}

async function main(): Promise<void> {
  const args = steps(process.argv.slice(2));
  const sim = await ModbusSimulator.start({ host: args.host, port: args.port });
  let unitId = 1;
  let behaviour: UnitBehaviour = {};
  sim.unit(unitId);
  for (const step of args.steps) {
    if (step.kind === 'unit') {
      unitId = step.unitId;
      behaviour = {};
      sim.unit(unitId);
      continue;
    }
    if (step.kind === 'silent') behaviour = { ...behaviour, silent: true };
    else if (step.kind === 'delay') behaviour = { ...behaviour, delayMs: Number(step.value) };
    else if (step.kind === 'exception') behaviour = { ...behaviour, exception: { code: Number(step.value) } };
    else {
      const [address, words] = assignment(step.value);
      if (step.kind === 'coil' || step.kind === 'discrete') sim.setBits(unitId, step.kind, address, words.map((w) => w !== 0));
      else sim.setRegisters(unitId, step.kind, address, words);
    }
    sim.behave(unitId, behaviour);
  }
  process.stdout.write(`modbus simulator listening on ${sim.host}:${sim.port}\n`);
  const stop = () => {
    const counts = new Map<string, number>();
    for (const r of sim.requests) counts.set(`unit ${r.unitId} fc ${r.fc}`, (counts.get(`unit ${r.unitId} fc ${r.fc}`) ?? 0) + 1);
    for (const [k, n] of counts) process.stdout.write(`${k}: ${n} request(s)\n`);
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
