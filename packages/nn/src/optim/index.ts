// optim: optimizers and learning-rate schedulers.

export type { AdamOptions } from './adam.js';
export { Adam, AdamW } from './adam.js';
export * as lrScheduler from './lr-scheduler.js';
export type {
  OptimizerStateDict,
  ParamGroup,
  ParamGroupInput,
  ParamState,
  ParamsInput,
  ZeroGradOptions,
} from './optimizer.js';
export { Optimizer } from './optimizer.js';
export type { AdagradOptions, RMSpropOptions } from './rmsprop.js';
export { Adagrad, RMSprop } from './rmsprop.js';
export type { SGDOptions } from './sgd.js';
export { SGD } from './sgd.js';
