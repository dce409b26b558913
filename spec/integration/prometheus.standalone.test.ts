import { useBackend } from '../support/backends.js';
import { prometheusScenarios } from './prometheus.scenarios.js';

prometheusScenarios(useBackend('standalone'));
