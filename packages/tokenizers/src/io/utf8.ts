/**
 * UTF-8 encoding of a JS string that also records, for every byte, which UTF-16 code units it came
 * from: byte-level BPE works on bytes but offsets must index the original string. Lone surrogates
 * become U+FFFD (EF BF BD), as TextEncoder and Rust's lossy conversion do.
 */
export interface Utf8WithOffsets {
  readonly bytes: Uint8Array;
  /** code-unit start of the character each byte belongs to */
  readonly charStart: Int32Array;
  /** code-unit end of the character each byte belongs to */
  readonly charEnd: Int32Array;
  readonly length: number;
}

let scratchBytes = new Uint8Array(1024);
let scratchStart = new Int32Array(1024);
let scratchEnd = new Int32Array(1024);

/**
 * The returned arrays are shared scratch buffers, valid until the next call: the encoder calls this
 * once per new word, and allocating three typed arrays each time showed up as GC time.
 */
export function utf8WithOffsets(s: string): Utf8WithOffsets {
  const cap = s.length * 3;
  if (scratchBytes.length < cap) {
    const size = Math.max(cap, scratchBytes.length * 2);
    scratchBytes = new Uint8Array(size);
    scratchStart = new Int32Array(size);
    scratchEnd = new Int32Array(size);
  }
  const bytes = scratchBytes;
  const charStart = scratchStart;
  const charEnd = scratchEnd;
  let n = 0;
  for (let i = 0; i < s.length; ) {
    let cp = s.charCodeAt(i);
    let units = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        units = 2;
      }
    }
    if (units === 1 && cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    const start = n;
    if (cp < 0x80) bytes[n++] = cp;
    else if (cp < 0x800) {
      bytes[n++] = 0xc0 | (cp >> 6);
      bytes[n++] = 0x80 | (cp & 63);
    } else if (cp < 0x10000) {
      bytes[n++] = 0xe0 | (cp >> 12);
      bytes[n++] = 0x80 | ((cp >> 6) & 63);
      bytes[n++] = 0x80 | (cp & 63);
    } else {
      bytes[n++] = 0xf0 | (cp >> 18);
      bytes[n++] = 0x80 | ((cp >> 12) & 63);
      bytes[n++] = 0x80 | ((cp >> 6) & 63);
      bytes[n++] = 0x80 | (cp & 63);
    }
    for (let k = start; k < n; k++) {
      charStart[k] = i;
      charEnd[k] = i + units;
    }
    i += units;
  }
  return { bytes, charStart, charEnd, length: n };
}
