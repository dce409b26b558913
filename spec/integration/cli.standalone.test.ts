import { useBackend } from '../support/backends.js';
import { cliScenarios } from './cli.scenarios.js';

cliScenarios(useBackend('standalone'));
