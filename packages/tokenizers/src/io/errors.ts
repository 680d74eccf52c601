/**
 * Thrown for malformed tokenizer files. The message names the file (or "<inline>" when contents were
 * passed directly) and, where it applies, the 1-based line, so a user can open the file and look.
 */
export class TokenizerFileError extends Error {
  override readonly name = 'TokenizerFileError';
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly line?: number,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`);
  }
}
