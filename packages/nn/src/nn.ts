// nn: Module, Parameter, containers and layers (plus nn.functional, nn.init and nn.utils, as in PyTorch).

export * as functional from './functional/index.js';
export * as init from './init/index.js';
export * from './layers/activation.js';
export * from './layers/attention.js';
export * from './layers/conv.js';
export * from './layers/dropout.js';
export * from './layers/embedding.js';
export * from './layers/linear.js';
export * from './layers/normalization.js';
export * from './layers/pooling.js';
export * from './layers/rnn.js';
export * from './layers/transformer.js';
export * from './layers/upsample.js';
export type { TensorModule } from './module/containers.js';
export { ModuleDict, ModuleList, Sequential } from './module/containers.js';
export type {
  LoadStateDictOptions,
  LoadStateDictResult,
  ModuleTarget,
  NamedParametersOptions,
  StateDict,
  StateDictOptions,
} from './module/module.js';
export { clearGrad, Module } from './module/module.js';
export type { FactoryOptions } from './module/options.js';
export type { ParameterConstructor } from './module/parameter.js';
export { isParameter, Parameter } from './module/parameter.js';
export * as utils from './utils/index.js';
