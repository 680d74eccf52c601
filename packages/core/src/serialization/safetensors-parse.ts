// Reading a safetensors file: every field of the header is checked before any byte of the data
// buffer is touched, so a corrupt or hostile file is an Error that names the file, the tensor and
// the fault, never an out-of-bounds read. The checks are the reference implementation's
// (safetensors/src/tensor.rs `read_metadata` and `Metadata::validate`) with clearer messages.
import type { DType } from '../dtype/dtype.js';
import { ITEMSIZE } from '../dtype/dtype.js';
import {
  checkedNumel,
  DTYPE_OF_CODE,
  describeValue,
  errorPrefix,
  hasLoneSurrogate,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  quoteName,
  type SafetensorsEntry,
  type SafetensorsMetadata,
  UNSUPPORTED_CODES,
} from './safetensors-format.js';

// fatal: invalid UTF-8 is an error, as in the reference (InvalidHeader). ignoreBOM: a BOM is kept
// and then fails JSON parsing, as it does for the reference's serde_json.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface Placed {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a whole safetensors file held in memory. Each entry's `data` is a subarray of `bytes`
 * (no copy). Tensors come in data-buffer order. `source` (a file name) is used in error messages.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source?: string,
): { tensors: Map<string, SafetensorsEntry>; metadata: SafetensorsMetadata | undefined } {
  const where = errorPrefix(source);
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${where}: expected the file's bytes as a Uint8Array, got ${describeValue(bytes)}`);
  }
  if (bytes.length < 8) {
    throw new Error(`${where}: file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const headerLength = prefix.getUint32(4, true) * 2 ** 32 + prefix.getUint32(0, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new Error(
      `${where}: header length ${prefix.getBigUint64(0, true)} exceeds the 100 MB limit ` +
        '(a corrupt length prefix, or not a safetensors file)',
    );
  }
  if (8 + headerLength > bytes.length) {
    throw new Error(
      `${where}: header length ${headerLength} runs past the end of the file (${bytes.length} bytes; truncated file?)`,
    );
  }
  const header = parseHeaderJson(bytes.subarray(8, 8 + headerLength), where);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let metadata: SafetensorsMetadata | undefined;
  const placed: Placed[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, where);
    else placed.push(parseTensorInfo(name, value, dataLength, where));
  }
  checkCoverage(placed, dataLength, where);

  const tensors = new Map<string, SafetensorsEntry>();
  for (const p of placed) {
    tensors.set(p.name, {
      dtype: p.dtype,
      shape: p.shape,
      data: bytes.subarray(dataStart + p.begin, dataStart + p.end),
    });
  }
  return { tensors, metadata };
}

function parseHeaderJson(headerBytes: Uint8Array, where: string): Record<string, unknown> {
  // Browsers' TextDecoder refuses views of shared memory; the header is small enough to copy.
  const shared = typeof SharedArrayBuffer !== 'undefined' && headerBytes.buffer instanceof SharedArrayBuffer;
  let text: string;
  try {
    text = utf8.decode(shared ? headerBytes.slice() : headerBytes);
  } catch {
    throw new Error(`${where}: header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${where}: header must be a JSON object of tensors, got ${describeValue(header)}`);
  }
  return header as Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMetadata(value: unknown, where: string): SafetensorsMetadata | undefined {
  // serde reads `"__metadata__": null` as an absent Option.
  if (value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new Error(`${where}: "${METADATA_KEY}" must be an object of strings, got ${describeValue(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new Error(
        `${where}: "${METADATA_KEY}" value for key ${quoteName(key)} must be a string, got ${describeValue(v)}`,
      );
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(v)) {
      throw new Error(
        `${where}: "${METADATA_KEY}" entry ${quoteName(key)} holds an unpaired UTF-16 surrogate escape`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseTensorInfo(name: string, info: unknown, dataLength: number, where: string): Placed {
  const tensor = `${where}: tensor ${quoteName(name)}`;
  if (hasLoneSurrogate(name)) throw new Error(`${tensor}: name holds an unpaired UTF-16 surrogate escape`);
  if (!isPlainObject(info)) {
    throw new Error(
      `${tensor}: header entry must be an object with dtype, shape and data_offsets, got ${describeValue(info)}`,
    );
  }
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in info)) throw new Error(`${tensor}: header entry is missing the field "${field}"`);
  }
  const code = info.dtype;
  if (typeof code !== 'string') {
    throw new Error(`${tensor}: dtype must be a string, got ${describeValue(code)}`);
  }
  const dtype = DTYPE_OF_CODE.get(code);
  if (dtype === undefined) {
    const supported = [...DTYPE_OF_CODE.keys()].join(', ');
    throw new Error(
      UNSUPPORTED_CODES.has(code)
        ? `${tensor}: dtype ${code} is not supported by Kiln (supported: ${supported})`
        : `${tensor}: unknown dtype code ${describeValue(code)} (supported: ${supported})`,
    );
  }

  const shape = info.shape;
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new Error(`${tensor}: shape must be a list of non-negative integers, got ${describeValue(shape)}`);
  }
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw new Error(
      `${tensor}: data_offsets must be [begin, end] (non-negative integers), got ${describeValue(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new Error(`${tensor}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    throw new Error(
      `${tensor}: data_offsets [${begin}, ${end}] point outside the data buffer (${dataLength} bytes; truncated file?)`,
    );
  }
  const numel = checkedNumel(shape);
  if (numel === undefined) {
    throw new Error(`${tensor}: shape [${shape.join(', ')}] has more elements than can be addressed`);
  }
  const expected = numel * ITEMSIZE[dtype];
  if (end - begin !== expected) {
    throw new Error(
      `${tensor}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but dtype ${code} and shape ` +
        `[${shape.join(', ')}] need ${expected} (${numel} elements x ${ITEMSIZE[dtype]} bytes)`,
    );
  }
  // `+ 0` turns a JSON -0 into 0.
  return { name, dtype, shape: shape.map((d: number) => d + 0), begin, end };
}

/**
 * Tensors must tile the data buffer exactly: no overlaps, and no bytes that belong to no tensor
 * (the reference rejects both: InvalidOffset and MetadataIncompleteBuffer). Sorts `placed` into
 * data order; empty tensors may share an offset.
 */
function checkCoverage(placed: Placed[], dataLength: number, where: string): void {
  placed.sort(
    (a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  let cursor = 0;
  let previous: Placed | undefined;
  for (const p of placed) {
    if (p.begin < cursor && previous) {
      throw new Error(
        `${where}: tensors ${quoteName(previous.name)} (data_offsets [${previous.begin}, ${previous.end}]) and ` +
          `${quoteName(p.name)} (data_offsets [${p.begin}, ${p.end}]) overlap`,
      );
    }
    if (p.begin > cursor) {
      throw new Error(
        `${where}: bytes [${cursor}, ${p.begin}) of the data buffer, before tensor ${quoteName(p.name)}, belong to ` +
          'no tensor (a hole; the reference implementation rejects it as MetadataIncompleteBuffer)',
      );
    }
    cursor = p.end;
    previous = p;
  }
  if (cursor !== dataLength) {
    throw new Error(
      `${where}: the last ${dataLength - cursor} bytes of the data buffer ([${cursor}, ${dataLength})) belong to ` +
        'no tensor (trailing bytes; the reference implementation rejects them as MetadataIncompleteBuffer)',
    );
  }
}
