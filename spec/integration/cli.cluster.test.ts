import { useBackend } from '../support/backends.js';
import { cliScenarios } from './cli.scenarios.js';

// The same CLI tests on a local 3-master Redis Cluster, reached with --cluster and its masters as startup nodes.
cliScenarios(useBackend('cluster'));
