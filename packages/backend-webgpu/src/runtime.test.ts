// The runtime's asynchronous pipeline compilation: work recorded behind a compiling pipeline keeps
// its order (dispatches, writes, reads), buffers it names are not reused early, and a kernel that
// fails to compile is reported by the next read instead of throwing where it was recorded.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyWebGPUBackend, webgpuBackend } from './index.js';
import type { GpuBuffer, Runtime } from './runtime.js';

let rt: Runtime;
beforeAll(async () => {
  rt = (await webgpuBackend()).runtime;
});
afterAll(destroyWebGPUBackend);

let unique = 0;
/** A one-binding f32 kernel `x[i] = <expr of x[i]>`, by default under a key never used before (so it compiles). */
function apply(buffer: GpuBuffer, n: number, expr: string, id = unique++): void {
  const code = `// runtime.test ${id}
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < p.n) { let v = x[id.x]; x[id.x] = ${expr}; }
}`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [buffer],
    params: [n],
    workgroups: [Math.ceil(n / 64), 1, 1],
  });
}

async function read(buffer: GpuBuffer, n: number): Promise<number[]> {
  return [...new Float32Array(await rt.readBytes(buffer, 0, n * 4))];
}

describe('asynchronous pipeline compilation', () => {
  it('queues work behind a compiling pipeline and keeps its order', async () => {
    const b = rt.alloc(12);
    rt.write(b, new Float32Array([1, 2, 3]));
    apply(b, 3, 'v * 10.0');
    // The pipeline is new, so the dispatch waits for its compile: nothing was encoded yet.
    expect(rt.pendingOps).toBe(1);
    const words = new Float32Array([5, 5, 5]);
    rt.write(b, words);
    words.fill(0); // the queued write took a copy
    apply(b, 3, 'v + 1.0');
    const first = read(b, 3); // recorded here: must see exactly the work above
    apply(b, 3, 'v * 10.0 + 0.5');
    expect(await first).toEqual([6, 6, 6]);
    expect(await read(b, 3)).toEqual([60.5, 60.5, 60.5]);
    expect(rt.pendingOps).toBe(0);
    rt.free(b);
  });

  it('does not hand a buffer named by queued work back to the pool', async () => {
    const a = rt.alloc(4096);
    rt.write(a, new Float32Array(1024).fill(2));
    apply(a, 1024, 'v * v');
    rt.free(a); // freed while its dispatch waits for the compile
    const other = rt.alloc(4096);
    expect(other.gpu).not.toBe(a.gpu);
    rt.write(other, new Float32Array(1024).fill(7));
    expect((await read(other, 1024)).every((v) => v === 7)).toBe(true);
    // Once the queue is encoded and submitted, the buffer returns to the pool.
    const again = rt.alloc(4096);
    expect(again.gpu).toBe(a.gpu);
    rt.free(other);
    rt.free(again);
  });

  it('reports a kernel that fails to compile at the next read, naming it, and goes on', async () => {
    const b = rt.alloc(8);
    rt.write(b, new Float32Array([1, 2]));
    const broken = unique++;
    apply(b, 2, 'v + undefined_name', broken);
    apply(b, 2, 'v + 1.0');
    await expect(read(b, 2)).rejects.toThrow(
      /a kernel failed to compile: [\s\S]*undefined_name[\s\S]*runtime\.test \d+/,
    );
    // The failed dispatch was skipped; the one after it ran; the error was reported once.
    expect(await read(b, 2)).toEqual([2, 3]);
    // Recording the failed kernel again (its compile long settled) reports it again, without waiting.
    apply(b, 2, 'v + undefined_name', broken);
    expect(rt.pendingOps).toBe(0);
    await expect(read(b, 2)).rejects.toThrow(/a kernel failed to compile/);
    rt.free(b);
  });

  it('tensors made while kernels compile read back correctly (core ops stay synchronous)', async () => {
    // A rank and dtype combination no earlier test in this file used, so its kernels compile now.
    const make = (device: string) =>
      k.arange(0, 24, 1, { device, dtype: 'int32' }).reshape([2, 3, 4]).permute([2, 0, 1]).mul(3).sub(1);
    const y = make('webgpu');
    expect(rt.pendingOps).toBeGreaterThan(0);
    const ref = make('cpu');
    expect(await y.toArray()).toEqual(await ref.toArray());
  });
});
