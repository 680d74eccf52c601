import { runConformanceSuite } from '@kiln/core/testing';
import './index.js';

runConformanceSuite('cpu');
