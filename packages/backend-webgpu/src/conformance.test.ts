// The shared conformance suite on 'webgpu': every op's values and gradients against the float64
// CPU reference, plus the behaviours every backend shares.
import '@kiln/backend-cpu';
import { runConformanceSuite } from '@kiln/core/testing';
import { afterAll } from 'vitest';
import { destroyWebGPUBackend } from './index.js';

// KILN_OPS narrows the op database while debugging (a regular expression over op names).
const only = typeof process !== 'undefined' ? process.env.KILN_OPS : undefined;
runConformanceSuite('webgpu', only ? { filter: new RegExp(only) } : {});

afterAll(destroyWebGPUBackend);
