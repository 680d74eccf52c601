// @kiln/nn: modules, layers, losses, initialisation and optimizers over @kiln/core.

export * as F from './functional/index.js';
export * as init from './init/index.js';
export * as nn from './nn.js';
export * as optim from './optim/index.js';
