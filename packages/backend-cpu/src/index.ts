// @kiln/backend-cpu: importing this module registers the 'cpu' device.
import { registerBackend } from '@kiln/core';
import { createCpuBackend } from './backend.js';

export { createCpuBackend };

/** Registers (or re-registers) the CPU backend under 'cpu'. Importing the package already does this. */
export function registerCpuBackend(): void {
  registerBackend('cpu', () => createCpuBackend());
}

registerCpuBackend();
