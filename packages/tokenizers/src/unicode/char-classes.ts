/**
 * Character classes with the exact definitions Hugging Face's Rust code uses, so splitting matches
 * the reference. JS's `\s` and `\w` differ from Rust's (JS `\s` has U+FEFF but not U+0085; JS `\w` is
 * ASCII only), hence the explicit Unicode properties.
 */

/** Rust `char::is_whitespace`: the White_Space property. */
const WHITESPACE = /\p{White_Space}/u;

/** Rust `char::is_alphanumeric` (Alphabetic or Numeric). */
const ALPHANUMERIC = /[\p{Alphabetic}\p{N}]/u;

/** HF's BERT punctuation: ASCII punctuation or any Unicode P* category. */
const PUNCTUATION = /[!-/:-@[-`{-~\p{P}]/u;

/** Rust `char::is_numeric`: general categories Nd, Nl, No. */
const NUMERIC = /\p{N}/u;

/** Cc, Cf, Co, Cn and (in JS only) lone surrogates: HF's `is_control` minus \t \n \r. */
const OTHER = /\p{C}/u;

export function isWhitespace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return WHITESPACE.test(ch);
}

export function isPunctuation(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128)
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return PUNCTUATION.test(ch);
}

export function isNumeric(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 128) return c >= 48 && c <= 57;
  return NUMERIC.test(ch);
}

export function isAlphanumeric(ch: string): boolean {
  return ALPHANUMERIC.test(ch);
}

/** BertNormalizer's control test: \t \n \r count as whitespace, not control. */
export function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return OTHER.test(ch);
}

/** The CJK Unified Ideograph blocks that BERT surrounds with spaces (HF `is_chinese_char`). */
export function isChineseChar(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) ||
    (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0x2f800 && c <= 0x2fa1f)
  );
}
