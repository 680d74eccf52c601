// Parsers for workload options given on the command line.

/**
 * `256,512,1024` -> [256, 512, 1024]; positive integers only.
 * @param {string} text
 * @returns {number[]}
 */
export function intList(text) {
  const values = text.split(',').map((s) => Number(s.trim()));
  const bad = values.find((v) => !Number.isInteger(v) || v <= 0);
  if (bad !== undefined)
    throw new Error(`expected a comma-separated list of positive integers, got '${text}'`);
  return values;
}

/**
 * A positive number, e.g. a size or a time in seconds.
 * @param {string} text
 */
export function positiveNumber(text) {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`expected a positive number, got '${text}'`);
  return v;
}

/**
 * A number >= 0, e.g. a warm-up time that may be switched off.
 * @param {string} text
 */
export function nonNegativeNumber(text) {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0) throw new Error(`expected a number >= 0, got '${text}'`);
  return v;
}
