import { useBackend } from '../support/backends.js';
import { coreScenarios } from './scenarios.js';

// The same scenarios on a local 3-master Redis Cluster: sharded pub/sub, keys in several slots.
coreScenarios(useBackend('cluster'));
