// Corpus BLEU (Papineni et al. 2002, "BLEU: a Method for Automatic Evaluation of Machine
// Translation"), as NLTK's corpus_bleu and sacreBLEU compute it without smoothing: clipped n-gram
// counts (each hypothesis n-gram counts at most as often as in the reference that has it most) are
// summed over the whole corpus before dividing, so the result is not a mean of sentence scores;
// BLEU = BP * exp(sum_n w_n log p_n) with uniform weights over orders 1..maxOrder, and the brevity
// penalty BP = exp(1 - r / c) when the total hypothesis length c is below the effective reference
// length r (the sum over sentences of the reference length closest to the hypothesis length, the
// shorter on ties). Any order with no match gives 0, as the unsmoothed definition does.

export interface BleuOptions {
  /** The longest n-gram order (default 4). */
  maxOrder?: number;
}

export interface BleuResult {
  /** The corpus score in [0, 1] (NLTK's scale; sacreBLEU prints 100 times this). */
  bleu: number;
  /** Modified n-gram precisions p_1 .. p_maxOrder (clipped matches / hypothesis n-grams). */
  precisions: number[];
  /** Clipped matches per order, summed over the corpus. */
  matches: number[];
  /** Hypothesis n-grams per order, summed over the corpus. */
  totals: number[];
  brevityPenalty: number;
  /** Total hypothesis length c. */
  hypothesisLength: number;
  /** Effective reference length r. */
  referenceLength: number;
}

/** Counts of every n-gram of `tokens` (n-grams keyed by their tokens joined with a separator). */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0001');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The reference length closest to the hypothesis length; the shorter one on ties (NLTK, sacreBLEU). */
function closestReferenceLength(hypLength: number, references: readonly (readonly string[])[]): number {
  let best = references[0].length;
  for (const ref of references) {
    const d = Math.abs(ref.length - hypLength);
    const bestD = Math.abs(best - hypLength);
    if (d < bestD || (d === bestD && ref.length < best)) best = ref.length;
  }
  return best;
}

/**
 * Corpus BLEU of tokenized hypotheses against one or several tokenized references each:
 * `references[i]` is either one token list or a list of token lists for `hypotheses[i]`.
 */
export function corpusBleu(
  hypotheses: readonly (readonly string[])[],
  references: readonly (readonly string[])[] | readonly (readonly (readonly string[])[])[],
  options: BleuOptions = {},
): BleuResult {
  const maxOrder = options.maxOrder ?? 4;
  if (!Number.isInteger(maxOrder) || maxOrder < 1)
    throw new RangeError(`corpusBleu: maxOrder must be a positive integer (got ${maxOrder})`);
  if (hypotheses.length !== references.length)
    throw new Error(
      `corpusBleu: ${hypotheses.length} hypotheses but ${references.length} reference entries (one per hypothesis)`,
    );
  const matches = new Array<number>(maxOrder).fill(0);
  const totals = new Array<number>(maxOrder).fill(0);
  let hypothesisLength = 0;
  let referenceLength = 0;
  hypotheses.forEach((hyp, i) => {
    const entry = references[i];
    // A list of strings is a single reference; a list of lists is several.
    const refs = (
      entry.length > 0 && typeof entry[0] !== 'string' ? entry : [entry]
    ) as readonly (readonly string[])[];
    if (refs.length === 0) throw new Error(`corpusBleu: hypothesis ${i} has no reference`);
    hypothesisLength += hyp.length;
    referenceLength += closestReferenceLength(hyp.length, refs);
    for (let n = 1; n <= maxOrder; n++) {
      const maxRef = new Map<string, number>();
      for (const ref of refs)
        for (const [g, c] of ngramCounts(ref, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
      for (const [g, c] of ngramCounts(hyp, n)) matches[n - 1] += Math.min(c, maxRef.get(g) ?? 0);
      totals[n - 1] += Math.max(0, hyp.length - n + 1);
    }
  });
  const precisions = matches.map((m, i) => (totals[i] > 0 ? m / totals[i] : 0));
  const brevityPenalty =
    hypothesisLength === 0
      ? 0
      : hypothesisLength >= referenceLength
        ? 1
        : Math.exp(1 - referenceLength / hypothesisLength);
  const logMean = precisions.reduce((s, p) => s + Math.log(p), 0) / maxOrder;
  const bleu = precisions.some((p) => p === 0) ? 0 : brevityPenalty * Math.exp(logMean);
  return { bleu, precisions, matches, totals, brevityPenalty, hypothesisLength, referenceLength };
}
