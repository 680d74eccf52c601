// Device choice for the examples: --device cuda | webgpu | cpu, or auto = the best one available
// (cuda, then a hardware WebGPU adapter, then cpu). A software WebGPU adapter (SwiftShader, what
// a machine without a GPU offers) runs on the CPU far slower than the CPU backend, so auto skips it.
import { existsSync } from 'node:fs';
import * as k from '@kiln/core';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

async function tryCuda() {
  try {
    await import('@kiln/backend-cuda');
    await k.ready('cuda');
    return { device: 'cuda' };
  } catch (e) {
    return { device: null, why: `cuda: ${e.message.split('\n')[0]}` };
  }
}

async function tryWebGPU({ allowSoftware }) {
  // Dawn reads these when it creates its instance: let it find Chromium's SwiftShader when the
  // user asked for webgpu on a machine without a GPU driver.
  if (allowSoftware && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  let webgpu;
  try {
    webgpu = await import('@kiln/backend-webgpu');
    const info = await webgpu.webgpuAdapterInfo();
    if (info.isFallbackAdapter && !allowSoftware) {
      await webgpu.destroyWebGPUBackend();
      return { device: null, why: `webgpu: only a software adapter (${info.description || info.architecture})` };
    }
    return { device: 'webgpu', release: () => webgpu.destroyWebGPUBackend(), info };
  } catch (e) {
    await webgpu?.destroyWebGPUBackend().catch(() => {});
    return { device: null, why: `webgpu: ${e.message.split('\n')[0]}` };
  }
}

/**
 * Registers and initialises the requested backend. Returns { device, release, skipped } where
 * `release` frees a GPU device (a live WebGPU device keeps Node running) and `skipped` says why
 * better devices were passed over.
 */
export async function selectDevice(requested = 'auto') {
  await import('@kiln/backend-cpu');
  const skipped = [];
  const attempts =
    requested === 'auto'
      ? [tryCuda, () => tryWebGPU({ allowSoftware: false })]
      : requested === 'cuda'
        ? [tryCuda]
        : requested === 'webgpu'
          ? [() => tryWebGPU({ allowSoftware: true })]
          : requested === 'cpu'
            ? []
            : null;
  if (attempts === null) throw new Error(`--device must be auto, cuda, webgpu or cpu (got ${requested})`);
  for (const attempt of attempts) {
    const got = await attempt();
    if (got.device) return { device: got.device, release: got.release ?? (async () => {}), skipped };
    skipped.push(got.why);
    if (requested !== 'auto') throw new Error(`--device ${requested} is not available here (${got.why})`);
  }
  return { device: 'cpu', release: async () => {}, skipped };
}
