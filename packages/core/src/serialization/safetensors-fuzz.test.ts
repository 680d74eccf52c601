// Seeded corruption of valid files. Every corrupted file must either parse into a result that
// satisfies the format's invariants or throw a plain Error of ours with a message naming the file;
// any other exception (a RangeError from an out-of-bounds read, a TypeError from a missing field)
// fails the test. Each case has its own PRNG stream, so the printed case number reproduces it.
import { describe, expect, it } from 'vitest';
import { ITEMSIZE } from '../dtype/dtype.js';
import type { SafetensorsEntry } from './safetensors-format.js';
import { serializeSafetensors } from './safetensors-layout.js';
import { parseSafetensors } from './safetensors-parse.js';
import { mulberry32, readFixture } from './test-support.js';

const SEED = 0x5afe7e45;
const CASES = 4000;
const SOURCE = 'fuzz.safetensors';

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

const BASES: Uint8Array[] = [
  readFixture('reference.safetensors'),
  readFixture('roundtrip.safetensors'),
  readFixture('name_ordered.safetensors'),
  serializeSafetensors(
    {
      w: { dtype: 'float32', shape: [2, 2], data: new Uint8Array(16).fill(7) },
      e: { dtype: 'int64', shape: [0], data: new Uint8Array(0) },
      m: { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
    },
    { format: 'pt' },
  ),
];

function headerLengthOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
}

function withPrefix(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  'null',
  'true',
  '-1',
  '0',
  '1e400',
  '1.5',
  '9007199254740993',
  '"F16"',
  '"I16"',
  '"__metadata__"',
  '"dtype"',
  '"shape"',
  '"data_offsets"',
  '[0,0]',
  '[]',
  '{}',
  '\u0000',
  '\ud800',
];
const CODES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I8',
  'U8',
  'BOOL',
  'I16',
  'U64',
  'F8_E5M2',
  'f32',
  '',
  'toString',
];
const WEIRD = [null, true, -1, 1.5, 2 ** 60, '7', [], {}, [1, 2, 3], [-1, 2], { a: 1 }, 1e300];

const mutators: Record<string, (rng: Rng, base: Uint8Array) => Uint8Array> = {
  flipHeaderBytes(rng, base) {
    const out = base.slice();
    const end = 8 + headerLengthOf(base);
    for (let k = 1 + int(rng, 3); k > 0; k--) {
      const i = int(rng, end);
      out[i] = rng() < 0.5 ? out[i] ^ (1 << int(rng, 8)) : int(rng, 256);
    }
    return out;
  },
  flipDataBytes(rng, base) {
    const out = base.slice();
    const start = 8 + headerLengthOf(base);
    if (out.length > start) {
      for (let k = 1 + int(rng, 8); k > 0; k--) out[start + int(rng, out.length - start)] = int(rng, 256);
    }
    return out;
  },
  truncate(rng, base) {
    return base.slice(0, int(rng, base.length));
  },
  lengthPrefix(rng, base) {
    const out = base.slice();
    const view = new DataView(out.buffer);
    const n = headerLengthOf(base);
    const choice = int(rng, 6);
    if (choice === 0) view.setBigUint64(0, BigInt(Math.max(0, n + int(rng, 17) - 8)), true);
    else if (choice === 1) view.setUint32(0, int(rng, 2 ** 32), true);
    else if (choice === 2) view.setUint32(4, 1 + int(rng, 2 ** 32 - 1), true);
    else if (choice === 3)
      view.setBigUint64(0, pick(rng, [0n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n, 2n ** 53n + 1n]), true);
    else if (choice === 4) view.setBigUint64(0, BigInt(out.length - 8 - int(rng, 4)), true);
    else view.setBigUint64(0, BigInt(out.length), true);
    return out;
  },
  spliceJson(rng, base) {
    const n = headerLengthOf(base);
    const text = new TextDecoder().decode(base.subarray(8, 8 + n));
    const at = int(rng, text.length + 1);
    const cut = rng() < 0.5 ? 0 : int(rng, 12);
    let spliced = text.slice(0, at) + pick(rng, JSON_TOKENS) + text.slice(at + cut);
    if (rng() < 0.3) spliced = text.slice(0, at) + text.slice(at, at + int(rng, 40)) + text.slice(at); // duplicate a span
    const header = new TextEncoder().encode(spliced);
    const data = base.subarray(8 + n);
    // Usually keep the length prefix consistent so the corruption reaches the JSON and offset checks.
    if (rng() < 0.8) return withPrefix(header, data);
    const out = new Uint8Array(8 + header.length + data.length);
    out.set(base.subarray(0, 8));
    out.set(header, 8);
    out.set(data, 8 + header.length);
    return out;
  },
  structural(rng, base) {
    const n = headerLengthOf(base);
    const header = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + n))) as Record<
      string,
      Record<string, unknown>
    >;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = pick(rng, names);
    const other = header[pick(rng, names)];
    const entry = header[name];
    const offsets = entry.data_offsets as number[];
    switch (int(rng, 11)) {
      case 0:
        entry.data_offsets = [...(other.data_offsets as number[])];
        break;
      case 1:
        entry.data_offsets = [offsets[0] + int(rng, 17) - 8, offsets[1] + int(rng, 17) - 8];
        break;
      case 2:
        entry.data_offsets = [offsets[1], offsets[0]];
        break;
      case 3:
        entry.dtype = pick(rng, CODES);
        break;
      case 4: {
        const shape = [...(entry.shape as number[])];
        const i = int(rng, shape.length + 1);
        shape[i] = pick(rng, [0, 1, 2, 3, -1, 2 ** 53, 2 ** 31, 0.5, '2', null] as number[]);
        entry.shape = shape;
        break;
      }
      case 5:
        delete entry[pick(rng, ['dtype', 'shape', 'data_offsets'])];
        break;
      case 6:
        header[`${name}.copy`] = { ...entry };
        break;
      case 7:
        header.__metadata__ = pick(rng, [...WEIRD, { k: 'v' }, { k: 1 }, { k: null }]) as Record<
          string,
          unknown
        >;
        break;
      case 8:
        header[name] = pick(rng, WEIRD) as Record<string, unknown>;
        break;
      case 9:
        entry[pick(rng, ['dtype', 'shape', 'data_offsets'])] = pick(rng, WEIRD);
        break;
      default:
        delete header[name];
    }
    let text = JSON.stringify(header);
    if (rng() < 0.5) text += ' '.repeat((8 - (text.length % 8)) % 8);
    let data = base.subarray(8 + n);
    const resize = int(rng, 4);
    if (resize === 0) data = data.subarray(0, int(rng, data.length + 1));
    else if (resize === 1)
      data = new Uint8Array([...data, ...Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256))]);
    return withPrefix(new TextEncoder().encode(text), data);
  },
  appendBytes(rng, base) {
    return new Uint8Array([...base, ...Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256))]);
  },
  randomFile(rng) {
    const out = Uint8Array.from({ length: int(rng, 80) }, () => int(rng, 256));
    if (out.length >= 8 && rng() < 0.5) {
      new DataView(out.buffer).setBigUint64(0, BigInt(int(rng, out.length)), true);
    }
    return out;
  },
};

/** What a successful parse must guarantee, whatever the input was (plain checks: this runs often). */
function checkInvariants(bytes: Uint8Array, tensors: Map<string, SafetensorsEntry>): string | undefined {
  const dataStart = bytes.byteOffset + 8 + headerLengthOf(bytes);
  const dataEnd = bytes.byteOffset + bytes.length;
  let covered = 0;
  for (const [name, e] of tensors) {
    let numel = 1;
    for (const d of e.shape) {
      if (!Number.isSafeInteger(d) || d < 0) return `${name}: bad dim ${d}`;
      numel *= d;
    }
    if (e.data.length !== numel * ITEMSIZE[e.dtype]) {
      return `${name}: ${e.data.length} bytes for ${numel} x ${e.dtype}`;
    }
    if (e.data.buffer !== bytes.buffer) return `${name}: data is not a view of the input`;
    if (e.data.byteOffset < dataStart || e.data.byteOffset + e.data.length > dataEnd) {
      return `${name}: data outside the data buffer`;
    }
    covered += e.data.length;
  }
  // Non-overlapping and complete: the sizes add up to the data buffer.
  return covered === dataEnd - dataStart
    ? undefined
    : `tensors cover ${covered} of ${dataEnd - dataStart} data bytes`;
}

function sameEntry(a: SafetensorsEntry | undefined, b: SafetensorsEntry): boolean {
  return (
    a !== undefined &&
    a.dtype === b.dtype &&
    a.shape.join() === b.shape.join() &&
    a.data.length === b.data.length &&
    a.data.every((v, i) => v === b.data[i])
  );
}

describe('parseSafetensors under seeded corruption', () => {
  it(`${CASES} corrupted files: each parses into a valid result or throws a clear Error, quickly`, () => {
    const kinds = Object.keys(mutators);
    const outcomes: Record<string, { accepted: number; rejected: number }> = {};
    const messages = new Set<string>();
    let slowest = 0;
    let parseTime = 0;
    const started = performance.now();
    for (let c = 0; c < CASES; c++) {
      const rng = mulberry32(SEED ^ Math.imul(c + 1, 0x9e3779b1));
      const kind = kinds[c % kinds.length];
      const bytes = mutators[kind](rng, pick(rng, BASES));
      const where = `case ${c} (${kind})`;
      outcomes[kind] ??= { accepted: 0, rejected: 0 };
      const t0 = performance.now();
      let parsed: ReturnType<typeof parseSafetensors> | undefined;
      try {
        parsed = parseSafetensors(bytes, SOURCE);
      } catch (e) {
        if (
          !(e instanceof Error) ||
          e.constructor !== Error ||
          !e.message.startsWith(`safetensors (${SOURCE}): `)
        ) {
          throw new Error(
            `${where}: unexpected ${e instanceof Error ? e.constructor.name : typeof e}: ${String(e)}`,
          );
        }
        messages.add(
          e.message
            .replace(/^safetensors \(fuzz\.safetensors\): /, '')
            .replace(/tensor ".*?"/g, 'tensor')
            .replace(/\d+/g, 'N')
            .slice(0, 120),
        );
        outcomes[kind].rejected++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
      parseTime += performance.now() - t0;
      if (parsed) {
        outcomes[kind].accepted++;
        const broken = checkInvariants(bytes, parsed.tensors);
        if (broken) throw new Error(`${where}: accepted an invalid file: ${broken}`);
        // What was accepted writes back to a file that parses to the same tensors.
        const again = parseSafetensors(serializeSafetensors(parsed.tensors, parsed.metadata), SOURCE);
        if (again.tensors.size !== parsed.tensors.size) throw new Error(`${where}: round trip lost tensors`);
        for (const [name, e] of parsed.tensors) {
          if (!sameEntry(again.tensors.get(name), e)) throw new Error(`${where}: round trip changed ${name}`);
        }
        expect(again.metadata, where).toEqual(parsed.metadata);
      }
    }
    const elapsed = performance.now() - started;

    expect(elapsed, `whole fuzz loop took ${elapsed.toFixed(0)} ms`).toBeLessThan(5000);
    expect(parseTime, `parsing took ${parseTime.toFixed(0)} ms`).toBeLessThan(2000);
    expect(slowest, `slowest case took ${slowest.toFixed(1)} ms`).toBeLessThan(250);
    // Each kind of corruption was exercised, and the corrupting ones were caught.
    for (const kind of kinds) {
      expect(outcomes[kind].accepted + outcomes[kind].rejected, kind).toBe(
        Math.ceil((CASES - kinds.indexOf(kind)) / kinds.length),
      );
      if (kind !== 'flipDataBytes') expect(outcomes[kind].rejected, kind).toBeGreaterThan(0);
    }
    expect(outcomes.flipDataBytes.rejected).toBe(0);
    // ...and reached every family of check, not only the first one.
    const reached = [...messages].join('\n');
    for (const family of [
      'too short',
      'exceeds the N MB limit',
      'runs past the end',
      'not valid JSON',
      'not valid UTF-N',
      'must be a JSON object',
      'overlap',
      'belong to no tensor',
      'point outside the data buffer',
      'but dtype',
      'is missing the field',
      'shape must be',
      'data_offsets must be',
      'end before they begin',
      'unknown dtype code',
      'is not supported by Kiln',
      '"__metadata__"',
    ]) {
      expect(reached, family).toContain(family);
    }
  });
});
