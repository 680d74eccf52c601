// Getting a GPUDevice: navigator.gpu in browsers; in Node, the optional `webgpu` package (Dawn's
// dawn.node), imported dynamically and only when navigator.gpu is absent, so browser bundles never
// pull it in.

export interface DeviceOptions {
  /** Passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
}

export interface AcquiredDevice {
  /**
   * The GPU entry point. Hold it as long as the device: in Node, collecting dawn.node's GPU object
   * tears down the Dawn instance under a live device (a native abort).
   */
  gpu: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  /** True when the device was created with 'shader-f16'. */
  shaderF16: boolean;
}

async function nodeGpu(): Promise<GPU> {
  // A variable specifier keeps bundlers from resolving the Node-only package.
  const specifier = 'webgpu';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ specifier);
  } catch (e) {
    throw new Error(
      "webgpu: navigator.gpu is not available and the Node package 'webgpu' could not be loaded " +
        `(install it: npm i webgpu). Cause: ${(e as Error).message}`,
    );
  }
  // dawn.node's GPU* classes (GPUBufferUsage, GPUMapMode, ...) as globals, as in a browser.
  for (const [name, value] of Object.entries(mod.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return mod.create([]);
}

async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  return nodeGpu();
}

/** Limits worth raising from the defaults: large tensors and a few more storage bindings. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) {
    throw new Error(
      'webgpu: no GPU adapter is available (requestAdapter() returned null). In Chromium, WebGPU may need ' +
        "--enable-unsafe-webgpu; in Node without a GPU, point VK_ICD_FILENAMES at a Vulkan driver such as SwiftShader's",
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const shaderF16 = adapter.features.has('shader-f16');
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: shaderF16 ? ['shader-f16'] : [],
  });
  return { gpu, device, adapter, shaderF16 };
}
