import { useBackend } from '../support/backends.js';
import { coreScenarios } from './scenarios.js';

coreScenarios(useBackend('standalone'));
