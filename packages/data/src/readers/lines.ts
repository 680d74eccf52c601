// Text files as lines: UTF-8 (a byte-order mark is dropped), LF or CRLF endings, gzip allowed.
import { maybeGunzip } from '../io/gzip.js';
import { type ByteSource, decodeUtf8, readBytes, sourceName } from '../io/source.js';

export interface LinesOptions {
  /** Drop lines that are empty (after trimming, when `trim`). Default false. */
  skipEmpty?: boolean;
  /** Trim whitespace from both ends of each line. Default false. */
  trim?: boolean;
  /** Name used in error messages when `source` is bytes. */
  name?: string;
}

/** Splits text into lines; a final newline does not start an empty last line. */
export function splitLines(text: string, options: LinesOptions = {}): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (options.trim) lines = lines.map((l) => l.trim());
  if (options.skipEmpty) lines = lines.filter((l) => l.length > 0);
  return lines;
}

/** Reads a UTF-8 text file as lines. Invalid UTF-8 is an error naming the file. */
export async function readLines(source: ByteSource, options: LinesOptions = {}): Promise<string[]> {
  const name = sourceName(source, options.name);
  const bytes = await maybeGunzip(await readBytes(source, 'readLines'), `readLines: ${name}`);
  return splitLines(decodeUtf8(bytes, 'readLines', name), options);
}
