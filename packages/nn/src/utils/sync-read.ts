// One number read back synchronously, for the few nn paths whose PyTorch behaviour needs a value
// on the host before they can go on (oneHot inferring numClasses, clipGradNorm_'s
// errorIfNonfinite). A device that cannot block (WebGPU) gets an error that names the op and what
// to do instead, rather than core's generic "use `await t.data()`", which the caller of a
// synchronous nn function cannot follow.
import type * as k from '@kiln/core';

/**
 * `t.itemSync()`; where `t`'s device cannot read synchronously, an error saying that `op` needs the
 * value for `why`, and `instead` what to do.
 */
export function itemSyncFor(op: string, t: k.Tensor, why: string, instead: string): number {
  try {
    return t.itemSync();
  } catch (cause) {
    throw new Error(
      `${op}: ${why} needs a value read back from device '${t.device}', which cannot be read synchronously; ${instead}`,
      { cause },
    );
  }
}
