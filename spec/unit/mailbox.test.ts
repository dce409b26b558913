import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../lib/mailbox.js';

/** A promise you settle from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Mailbox', () => {
  it('resolves each run with its task’s result, sync or async', async () => {
    const box = new Mailbox();
    await expect(box.run(() => 1)).resolves.toBe(1);
    await expect(box.run(async () => 'two')).resolves.toBe('two');
  });

  it('runs tasks one at a time, in order, even when they are async', async () => {
    const box = new Mailbox();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const task = (name: string, waits: number) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      for (let i = 0; i < waits; i++) await tick();
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([box.run(task('a', 3)), box.run(task('b', 0)), box.run(task('c', 1))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('does not start the next task before the running one settles', async () => {
    const box = new Mailbox();
    const gate = deferred();
    let secondStarted = false;
    const first = box.run(() => gate.promise);
    const second = box.run(() => {
      secondStarted = true;
    });
    await tick();
    await tick();
    expect(secondStarted).toBe(false);
    gate.resolve();
    await first;
    await second;
    expect(secondStarted).toBe(true);
  });

  it('a rejecting task rejects its own run and does not stop later ones', async () => {
    const box = new Mailbox();
    const ran: string[] = [];
    const bad = box.run(async () => {
      await tick();
      throw new Error('bad');
    });
    const good = box.run(() => {
      ran.push('good');
      return 'ok';
    });
    await expect(bad).rejects.toThrow('bad');
    await expect(good).resolves.toBe('ok');
    expect(ran).toEqual(['good']);
  });

  it('a task that throws synchronously becomes a rejection, not a throw from run()', async () => {
    const box = new Mailbox();
    let result: Promise<never> | undefined;
    expect(() => {
      result = box.run(() => {
        throw new Error('sync');
      });
    }).not.toThrow();
    await expect(result).rejects.toThrow('sync');
    await expect(box.run(() => 'after')).resolves.toBe('after');
  });

});
