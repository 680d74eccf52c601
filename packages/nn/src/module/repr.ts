// Python spellings for module reprs, so a printed Kiln model reads like the same PyTorch model.

/** Python's repr of a float: `1e-05`, `0.1`, `2.0`. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 16) {
    const [mantissa, e] = x.toExponential().split('e');
    const n = Number(e);
    return `${mantissa}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = String(x);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** A Python tuple of ints: `(3,)`, `(2, 2)`. */
export function pyTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}

export function pyString(s: string): string {
  return `'${s}'`;
}
