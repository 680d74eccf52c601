#!/usr/bin/python3
"""Reference outputs for @kiln/data's Resize: PyTorch's F.interpolate with mode='bilinear'
(align_corners=False, antialias=False) and mode='nearest', on small seeded float32 images.

Run with Debian's python3-torch (torch 1.13), not a python3 from PATH:

    /usr/bin/python3 scripts/make-resize-fixtures.py > src/image/resize.fixtures.json
"""
import json
import sys

import torch
import torch.nn.functional as F

CASES = [
    # (input shape [..., H, W], output (h, w), mode)
    ([1, 5, 7], (3, 4), 'bilinear'),     # downscale, non-integer ratios
    ([3, 4, 6], (9, 11), 'bilinear'),    # upscale, non-integer ratios
    ([2, 6, 6], (12, 12), 'bilinear'),   # exactly 2x
    ([1, 8, 5], (3, 5), 'bilinear'),     # height only
    ([1, 1, 1], (3, 2), 'bilinear'),     # a single pixel
    ([2, 3, 5, 5], (7, 3), 'bilinear'),  # a batch [N, C, H, W]
    ([1, 28, 28], (32, 32), 'bilinear'), # Fashion-MNIST size to 32x32
    ([1, 5, 7], (3, 4), 'nearest'),
    ([2, 4, 6], (9, 11), 'nearest'),
    ([1, 4, 6], (8, 12), 'nearest'),     # exactly 2x
    ([1, 7, 3], (2, 5), 'nearest'),
]


def main() -> None:
    torch.manual_seed(0)
    out = {'torch': torch.__version__, 'cases': []}
    for shape, size, mode in CASES:
        x = torch.rand(shape, dtype=torch.float32)
        batched = x.reshape(-1, 1, *shape[-2:])  # F.interpolate wants [N, C, H, W]
        kwargs = {'align_corners': False} if mode == 'bilinear' else {}
        y = F.interpolate(batched, size=size, mode=mode, **kwargs).reshape(*shape[:-2], *size)
        out['cases'].append({
            'shape': shape,
            'size': list(size),
            'mode': mode,
            'input': x.flatten().tolist(),
            'output': y.flatten().tolist(),
        })
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
