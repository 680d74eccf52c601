// F: the functional forms of layers, activations and losses.
export * from './activation.js';
export * from './dropout.js';
export * from './linear.js';
export * from './loss.js';
export * from './normalization.js';
