// conv2d forward and backward as direct convolutions, one invocation per output element of each
// kernel: forward per (n, o, y, x) output, input gradient per input element (gathering the output
// positions whose windows read it, so no atomics), weight gradient per weight element (summing
// over the batch and output positions). Operands are read through their strides.
import type { Conv2dParams, KernelTensor } from '@kiln/core';
import { numel } from '@kiln/core';
import { type Runtime, runPerElement } from '../runtime.js';
import { binding, decode4, entry, Params } from '../wgsl.js';

/** Strided element offset of (a, b, c, d) in `t`. */
function at(p: Params, t: KernelTensor): (a: string, b: string, c: string, d: string) => string {
  const [o, s0, s1, s2, s3] = p.ints([t.offset, ...t.strides]);
  return (a, b, c, d) => `${o} + (${a}) * ${s0} + (${b}) * ${s1} + (${c}) * ${s2} + (${d}) * ${s3}`;
}

function geometry(
  p: Params,
  input: KernelTensor,
  weight: KernelTensor,
  output: KernelTensor,
  q: Conv2dParams,
) {
  const [, , h, w] = input.shape;
  const [o, cg, kh, kw] = weight.shape;
  const [, , oh, ow] = output.shape;
  const [H, W, CG, OG, KH, KW, OH, OW] = p.ints([h, w, cg, o / q.groups, kh, kw, oh, ow]);
  const [SH, SW, PH, PW, DH, DW] = p.ints([...q.stride, ...q.padding, ...q.dilation]);
  return { H, W, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW };
}

export function conv2d(
  rt: Runtime,
  x: KernelTensor,
  weight: KernelTensor,
  out: KernelTensor,
  q: Conv2dParams,
): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, out.shape);
  const g = geometry(p, x, weight, out, q);
  const X = at(p, x);
  const Wt = at(p, weight);
  const O = at(p, out);
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'w', 'f32', false)}${binding(3, 'out', 'f32', true)}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let grp = c1 / ${g.OG};
  var acc = 0.0;
  for (var c = 0; c < ${g.CG}; c++) {
    for (var ki = 0; ki < ${g.KH}; ki++) {
      let ih = c2 * ${g.SH} - ${g.PH} + ki * ${g.DH};
      if (ih < 0 || ih >= ${g.H}) { continue; }
      for (var kj = 0; kj < ${g.KW}; kj++) {
        let iw = c3 * ${g.SW} - ${g.PW} + kj * ${g.DW};
        if (iw < 0 || iw >= ${g.W}) { continue; }
        acc += x[${X('c0', `grp * ${g.CG} + c`, 'ih', 'iw')}] * w[${Wt('c1', 'c', 'ki', 'kj')}];
      }
    }
  }
  out[${O('c0', 'c1', 'c2', 'c3')}] = acc;
}
`;
  runPerElement(rt, code, [x, weight, out], p, n);
}

export function conv2dBackwardInput(
  rt: Runtime,
  gradOut: KernelTensor,
  weight: KernelTensor,
  gradIn: KernelTensor,
  q: Conv2dParams,
): void {
  const n = numel(gradIn.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, gradIn.shape);
  const g = geometry(p, gradIn, weight, gradOut, q);
  const G = at(p, gradOut);
  const Wt = at(p, weight);
  const I = at(p, gradIn);
  // Output row y reads input row ih at tap ki when y*stride - pad + ki*dil == ih.
  const code = `${p.decl()}${binding(1, 'g', 'f32', false)}${binding(2, 'w', 'f32', false)}${binding(3, 'gin', 'f32', true)}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let grp = c1 / ${g.CG};
  let cl = c1 % ${g.CG};
  var acc = 0.0;
  for (var ki = 0; ki < ${g.KH}; ki++) {
    let ty = c2 + ${g.PH} - ki * ${g.DH};
    if (ty < 0 || ty % ${g.SH} != 0) { continue; }
    let y = ty / ${g.SH};
    if (y >= ${g.OH}) { continue; }
    for (var kj = 0; kj < ${g.KW}; kj++) {
      let tx = c3 + ${g.PW} - kj * ${g.DW};
      if (tx < 0 || tx % ${g.SW} != 0) { continue; }
      let xo = tx / ${g.SW};
      if (xo >= ${g.OW}) { continue; }
      for (var ol = 0; ol < ${g.OG}; ol++) {
        let o = grp * ${g.OG} + ol;
        acc += g[${G('c0', 'o', 'y', 'xo')}] * w[${Wt('o', 'cl', 'ki', 'kj')}];
      }
    }
  }
  gin[${I('c0', 'c1', 'c2', 'c3')}] = acc;
}
`;
  runPerElement(rt, code, [gradOut, weight, gradIn], p, n);
}

export function conv2dBackwardWeight(
  rt: Runtime,
  x: KernelTensor,
  gradOut: KernelTensor,
  gradWeight: KernelTensor,
  q: Conv2dParams,
): void {
  const n = numel(gradWeight.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, gradWeight.shape);
  const g = geometry(p, x, gradWeight, gradOut, q);
  const B = p.int(x.shape[0]);
  const X = at(p, x);
  const G = at(p, gradOut);
  const Wg = at(p, gradWeight);
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'g', 'f32', false)}${binding(3, 'gw', 'f32', true)}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let c = (c0 / ${g.OG}) * ${g.CG} + c1;
  var acc = 0.0;
  for (var b = 0; b < ${B}; b++) {
    for (var y = 0; y < ${g.OH}; y++) {
      let ih = y * ${g.SH} - ${g.PH} + c2 * ${g.DH};
      if (ih < 0 || ih >= ${g.H}) { continue; }
      for (var xo = 0; xo < ${g.OW}; xo++) {
        let iw = xo * ${g.SW} - ${g.PW} + c3 * ${g.DW};
        if (iw < 0 || iw >= ${g.W}) { continue; }
        acc += g[${G('b', 'c0', 'y', 'xo')}] * x[${X('b', 'c', 'ih', 'iw')}];
      }
    }
  }
  gw[${Wg('c0', 'c1', 'c2', 'c3')}] = acc;
}
`;
  runPerElement(rt, code, [x, gradOut, gradWeight], p, n);
}
