// F: the functional forms of layers, activations and losses.
export * from './activation.js';
export * from './attention.js';
export * from './conv.js';
export * from './dropout.js';
export * from './interpolate.js';
export * from './linear.js';
export * from './loss.js';
export * from './normalization.js';
export * from './pad.js';
