// torchvision's ToTensor: uint8 HWC pixels (0..255) -> float32 CHW in [0, 1].
import * as k from '@kiln/core';
import { type Device, isTensor, type Tensor } from '@kiln/core';
import type { Transform } from './transform.js';

/** Pixels in memory: row-major, channels last (ImageData's layout, with its 4 RGBA channels). */
export interface HostImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Default: data.length / (width * height). */
  channels?: number;
}

/**
 * HWC uint8 -> CHW float32 / 255. Accepts a uint8 tensor [H, W] (one channel) or [H, W, C], or a
 * HostImage (e.g. a browser ImageData). Float tensors are only moved to CHW, not rescaled, as
 * torchvision does for non-uint8 input.
 */
export class ToTensor implements Transform<Tensor | HostImage, Tensor> {
  constructor(readonly options: { device?: Device } = {}) {}

  apply(input: Tensor | HostImage): Tensor {
    if (isTensor(input)) return tensorToCHW(input);
    const { data, width, height } = input;
    const channels = input.channels ?? data.length / (width * height);
    if (!Number.isInteger(channels) || channels < 1 || data.length !== width * height * channels) {
      throw new Error(
        `ToTensor: ${data.length} bytes do not make a ${height}x${width} image with ${input.channels ?? '?'} channels`,
      );
    }
    const out = new Float32Array(data.length);
    const plane = width * height;
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c] / 255;
    return k.fromHost(out, [channels, height, width], 'float32', this.options.device ?? k.getDefaultDevice());
  }
}

function tensorToCHW(x: Tensor): Tensor {
  if (x.ndim !== 2 && x.ndim !== 3)
    throw new Error(`ToTensor: expected an image [H, W] or [H, W, C], got shape [${x.shape.join(', ')}]`);
  return k.tidy(() => {
    const chw = x.ndim === 2 ? x.unsqueeze(0) : x.permute(2, 0, 1);
    return x.dtype === 'uint8' ? chw.to('float32').div(255) : chw.contiguous();
  });
}
