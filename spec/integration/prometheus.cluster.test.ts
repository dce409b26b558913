import { useBackend } from '../support/backends.js';
import { prometheusScenarios } from './prometheus.scenarios.js';

// The same exporter tests with the nodes on a local 3-master Redis Cluster (sharded pub/sub).
prometheusScenarios(useBackend('cluster'));
