// @kiln/core/testing: the op database and the conformance suite every backend runs.

export type { Tolerance } from './testing/compare.js';
export { assertClose, compareValues, FLOAT32_TOL, FLOAT64_TOL, valuesOf } from './testing/compare.js';
export type { ConformanceOptions } from './testing/conformance.js';
export { runConformanceSuite } from './testing/conformance.js';
export { gradcheck } from './testing/gradcheck.js';
export type { OpInfo, OpOutput, Sample } from './testing/opdb.js';
export { OP_DB, OP_GROUPS, outputsOf } from './testing/opdb.js';
export type { Domain, HostTensor, Layout } from './testing/samples.js';
export { materialize, SampleMaker, SampleRng } from './testing/samples.js';
