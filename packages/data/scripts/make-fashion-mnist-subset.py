#!/usr/bin/python3
"""Makes packages/data/test-data/fashion-mnist: the first 200 training and 100 test images and
labels of Fashion-MNIST, cut from the original IDX files (bytes copied, header count rewritten)
and gzipped reproducibly (mtime 0), plus reference.json with facts about them computed here with
the Python standard library alone, independently of the TypeScript reader they check.

Fashion-MNIST: Copyright (c) 2017 Zalando SE, MIT licence (https://github.com/zalandoresearch/fashion-mnist).

    /usr/bin/python3 scripts/make-fashion-mnist-subset.py [--root /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test-data', 'fashion-mnist')
SPLITS = {'train': 200, 't10k': 100}


def cut(raw: bytes, count: int) -> bytes:
    """The first `count` items of an IDX file: same header with dimension 0 set to `count`."""
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, 'expected an IDX uint8 file'
    ndim = raw[3]
    dims = list(struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim]))
    item = 1
    for d in dims[1:]:
        item *= d
    header = raw[:4] + struct.pack('>' + 'I' * ndim, count, *dims[1:])
    start = 4 + 4 * ndim
    return header + raw[start:start + count * item]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', default='/usr/share/datasets/fashion-mnist')
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    reference = {}
    for prefix, count in SPLITS.items():
        images = cut(gzip.open(os.path.join(args.root, f'{prefix}-images-idx3-ubyte.gz')).read(), count)
        labels = cut(gzip.open(os.path.join(args.root, f'{prefix}-labels-idx1-ubyte.gz')).read(), count)
        for name, data in ((f'{prefix}-images-idx3-ubyte.gz', images), (f'{prefix}-labels-idx1-ubyte.gz', labels)):
            with open(os.path.join(OUT, name), 'wb') as f:
                f.write(gzip.compress(data, compresslevel=9, mtime=0))
        pixels = images[16:]
        reference[prefix] = {
            'count': count,
            'labels': list(labels[8:]),
            'pixelSums': [sum(pixels[i * 784:(i + 1) * 784]) for i in range(count)],
            # Image 0, row 14 (the middle row), all 28 pixels.
            'image0Row14': list(pixels[14 * 28:15 * 28]),
        }
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(reference, f)
        f.write('\n')


if __name__ == '__main__':
    main()
