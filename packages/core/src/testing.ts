// @kiln/core/testing: the op database and the conformance suite every backend runs.
export { runConformanceSuite } from './testing/conformance.js';
export type { ConformanceOptions } from './testing/conformance.js';
export { OP_DB, outputsOf } from './testing/opdb.js';
export type { OpInfo, Sample, OpOutput } from './testing/opdb.js';
export { SampleMaker, SampleRng, materialize } from './testing/samples.js';
export type { HostTensor, Layout, Domain } from './testing/samples.js';
export { gradcheck } from './testing/gradcheck.js';
export { assertClose, compareValues, valuesOf, FLOAT32_TOL, FLOAT64_TOL } from './testing/compare.js';
export type { Tolerance } from './testing/compare.js';
