// nn.utils.

export type { ClipGradNormOptions } from './clip-grad.js';
export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
