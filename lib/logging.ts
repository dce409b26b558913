import createDebug from 'debug';
import type { Logger } from './options.js';

/**
 * The default logger: the `debug` package's convention, as ioredis does —
 * silent unless `DEBUG=simple-gossip:*` (or `simple-gossip:warn`, …) is set.
 */
export function debugLogger(namespace = 'simple-gossip'): Logger {
  const root = createDebug(namespace);
  return {
    debug: root.extend('debug'),
    info: root.extend('info'),
    warn: root.extend('warn'),
    error: root.extend('error'),
  };
}
