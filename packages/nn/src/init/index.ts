// nn.init.
export * from './init.js';
