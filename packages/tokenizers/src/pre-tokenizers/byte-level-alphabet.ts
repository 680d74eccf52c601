/**
 * GPT-2's reversible byte <-> unicode mapping (`bytes_to_unicode` in openai/gpt-2 encoder.py):
 * printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order, so every
 * byte sequence becomes a string of visible characters without whitespace or control codes.
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The 256 characters of the byte-level alphabet (HF `ByteLevel.alphabet()`). */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR];
}
