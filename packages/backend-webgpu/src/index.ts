// @kiln/backend-webgpu: importing this module registers the 'webgpu' device. Initialisation is
// asynchronous (adapter and device requests): `await k.ready('webgpu')` before the first op.
import { ready, registerBackend } from '@kiln/core';
import { createWebGPUBackend, createWebGPUBackendFromDevice, type WebGPUBackend } from './backend.js';
import type { DeviceOptions } from './device.js';

export type { DeviceOptions, WebGPUBackend };
export { createWebGPUBackend, createWebGPUBackendFromDevice };

let current: Promise<WebGPUBackend> | null = null;

/** Registers (or re-registers) the backend under 'webgpu'. Importing the package already does this. */
export function registerWebGPUBackend(options: DeviceOptions = {}): void {
  current = null;
  registerBackend('webgpu', () => {
    current ??= createWebGPUBackend(options);
    return current;
  });
}

/**
 * Destroys the 'webgpu' device if one was created (a live device keeps a Node process running).
 * Tensors on 'webgpu' are unusable afterwards.
 */
export async function destroyWebGPUBackend(): Promise<void> {
  if (!current) return;
  const backend = await current;
  backend.destroy();
  current = null;
}

/** The live 'webgpu' backend (initialising it if needed), e.g. to pick its `matmulVariant`. */
export async function webgpuBackend(): Promise<WebGPUBackend> {
  await ready('webgpu');
  if (!current) throw new Error("webgpuBackend: the 'webgpu' device is registered by another package");
  return current;
}

/**
 * The adapter behind the 'webgpu' device (initialising it if needed). `isFallbackAdapter` is true
 * for a software implementation (SwiftShader on a machine without a GPU), which is slower than
 * the CPU backend: programs that pick a device automatically should skip it.
 */
export async function webgpuAdapterInfo(): Promise<GPUAdapterInfo> {
  return (await webgpuBackend()).device.adapterInfo;
}

registerWebGPUBackend();
