import type { Rumor } from '../index.js';
import { EXIT } from './exit.js';
import { println, toJson } from './output.js';
import type { Session } from './session.js';

/**
 * `watch`: prints the data now, then one line each time it changes, until
 * SIGINT or SIGTERM (then exits 0). An observer is no member and is sent no
 * changes: it polls the cluster's state in Redis every `intervalMs`, so
 * changes closer together than that may show as one line.
 */
export async function watch(s: Session, intervalMs: number): Promise<number> {
  await s.live();
  s.done();
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (process.stderr.isTTY && !s.options.json) {
    process.stderr.write(`watching "${s.options.namespace}" (every ${intervalMs} ms); Ctrl-C to stop\n`);
  }
  let last: string | undefined;
  const stop = s.observer.watch((rumor: Rumor) => {
    const data = toJson(rumor.data);
    if (data === last) return; // a membership or settings change: the data is the same
    last = data;
    println(s.options.json ? toJson({ version: rumor.version, data: rumor.data }) : `${clock()} version ${rumor.version} ${data}`);
  }, intervalMs);
  await stopped;
  stop();
  return EXIT.ok;
}

/** Local time of day, to the millisecond. */
function clock(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
