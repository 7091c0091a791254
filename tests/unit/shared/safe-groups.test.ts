import { describe, expect, it } from 'vitest';
import { SafeGroups } from '../../../src/shared/safe-groups.js';

/** A promise settled by hand, counting the reactions attached to it. */
function batch() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const reactions = { count: 0 };
  const then = promise.then.bind(promise);
  promise.then = ((...args: Parameters<typeof then>) => {
    reactions.count++;
    return then(...args);
  }) as typeof promise.then;
  return { promise, resolve, reject, reactions };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SafeGroups', () => {
  it('runs every item of a batch once it is safe, in order, with one reaction for the whole batch', async () => {
    const seen: Array<[string, Error | undefined]> = [];
    const settled: Array<[number, Error | undefined]> = [];
    const groups = new SafeGroups<string>({ settled: (n, err) => settled.push([n, err]), each: (item, err) => seen.push([item, err]), failed: () => undefined });
    const b = batch();
    for (const id of ['a', 'b', 'c']) groups.add(b.promise, id);
    expect(b.reactions.count).toBe(1);
    expect(seen).toStrictEqual([]);
    b.resolve();
    await tick();
    expect(settled).toStrictEqual([[3, undefined]]);
    expect(seen).toStrictEqual([['a', undefined], ['b', undefined], ['c', undefined]]);
  });

  it('hands a failed batch its error, as an Error even when the rejection was not one', async () => {
    const seen: Array<[string, string | undefined]> = [];
    const groups = new SafeGroups<string>({ each: (item, err) => seen.push([item, err?.message]), failed: () => undefined });
    const b = batch();
    groups.add(b.promise, 'a');
    groups.add(b.promise, 'b');
    b.reject('disk full');
    await tick();
    expect(seen).toStrictEqual([['a', 'disk full'], ['b', 'disk full']]);
  });

  it('keeps the batches apart, and starts a new group for a promise added again after it settled', async () => {
    const seen: string[] = [];
    const groups = new SafeGroups<string>({ each: (item) => seen.push(item), failed: () => undefined });
    const one = batch();
    const two = batch();
    groups.add(one.promise, '1a');
    groups.add(two.promise, '2a');
    two.resolve();
    await tick();
    expect(seen).toStrictEqual(['2a']);
    groups.add(two.promise, '2b'); // already safe: runs on the next turn
    one.resolve();
    await tick();
    expect(seen).toStrictEqual(['2a', '2b', '1a']);
  });

  it('tells a failing item to `failed` and still runs the others', async () => {
    const seen: string[] = [];
    const failures: Array<[string, string]> = [];
    const groups = new SafeGroups<string>({
      each: (item) => {
        if (item === 'bad') throw new Error('socket gone');
        seen.push(item);
      },
      failed: (failure, item) => failures.push([item, (failure as Error).message]),
    });
    const b = batch();
    for (const id of ['a', 'bad', 'c']) groups.add(b.promise, id);
    b.resolve();
    await tick();
    expect(seen).toStrictEqual(['a', 'c']);
    expect(failures).toStrictEqual([['bad', 'socket gone']]);
  });
});
