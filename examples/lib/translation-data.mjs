// The English -> Spanish data of the translation examples (Seq2Seq and Transformer): short verse
// pairs of the King James Bible and the Reina-Valera Bible, and one fixed train / held-out split so
// that every example reports BLEU on the same sentences.
//
// examples/data/en-es-bible-short.tsv ("ref \t english \t spanish", one verse a line) holds the
// verses of the 31k-verse parallel Bible whose English and Spanish sides both have at most
// MAX_WORDS words. It was made once with
//
//   node examples/lib/translation-data.mjs /work/shared/data/en-es-bible.tsv > examples/data/en-es-bible-short.tsv
//
// and the examples read only the committed file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k from '@kiln/core';
import { epochRandom, normalizeTranslationText, Random } from '@kiln/data';

export const DATA_FILE = join(import.meta.dirname, '..', 'data', 'en-es-bible-short.tsv');

/** Verses with more words on either side are left out of the committed file. */
export const MAX_WORDS = 16;

/** Held-out pairs: never trained on, translated for BLEU. */
export const HELD_OUT = 500;

/** The seed of the split's shuffle (fixed: every example holds out the same verses). */
export const SPLIT_SEED = 2024;

/** The special tokens, first in both vocabularies after '<unk>': ids 1, 2, 3. */
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>'];

/** ',.!?' (d2l's set) plus the Bible's ';' and ':' and Spanish's opening marks. */
const PUNCTUATION = ',.!?;:';

/**
 * Words of a sentence as the examples use them: d2l's preprocess_nmt (lowercase, accents stripped,
 * a space before punctuation), then split on spaces; Spanish's inverted marks are split off too,
 * and the King James text's paragraph signs (¶) dropped.
 */
export function tokenize(sentence) {
  const text = sentence.replace(/¶/g, ' ').replace(/([¿¡])/g, '$1 ');
  return normalizeTranslationText(text, { punctuation: PUNCTUATION })
    .split(' ')
    .filter((w) => w !== '');
}

/** Rows of a "ref \t english \t spanish" file. */
export function parseTsv(text) {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const [ref, en, es] = line.split('\t');
      if (es === undefined) throw new Error(`translation-data: line ${i + 1} has fewer than 3 tab-separated fields`);
      return { ref, en, es };
    });
}

/** The rows whose English and Spanish sides both have at most maxWords words (by spaces). */
export function selectShort(rows, maxWords = MAX_WORDS) {
  const words = (s) => s.split(/\s+/).filter(Boolean).length;
  return rows.filter((r) => words(r.en) <= maxWords && words(r.es) <= maxWords);
}

/**
 * The committed pairs, tokenized, split into train and held-out by a seeded shuffle of the file's
 * rows (the split does not depend on any example option). Each pair: { ref, en, es, src, tgt }
 * with src / tgt the English / Spanish words.
 */
export async function loadTranslationData() {
  const rows = parseTsv(await readFile(DATA_FILE, 'utf8'));
  const pairs = rows.map((r) => ({ ...r, src: tokenize(r.en), tgt: tokenize(r.es) }));
  const order = new Random(SPLIT_SEED).permutation(pairs.length);
  const test = order.slice(0, HELD_OUT).map((i) => pairs[i]);
  const train = order.slice(HELD_OUT).map((i) => pairs[i]);
  return { train, test };
}

// `node translation-data.mjs FULL.tsv`: print the committed subset of a full parallel Bible file.
if (process.argv[1] === import.meta.filename) {
  const rows = selectShort(parseTsv(await readFile(process.argv[2], 'utf8')));
  process.stdout.write(rows.map((r) => `${r.ref}\t${r.en}\t${r.es}\n`).join(''));
}

/**
 * Training batches for both translation examples. Sources and labels end in <eos>; the decoder
 * reads <bos> + target (teacher forcing). Pairs are grouped by source length (sorted, then cut
 * into batches) so little of a batch is padding, and a step's batch is a pure function of (seed,
 * step), which is what the Trainer's exact resumption needs.
 */
export function translationBatches(vocab, pairs, { batchSize, seed }) {
  const [padId, bosId, eosId] = SPECIAL_TOKENS.map((t) => vocab.target.indexOf(t));
  const encode = (p) => ({
    src: [...vocab.source.toIndices(p.src), eosId],
    tgtIn: [bosId, ...vocab.target.toIndices(p.tgt)],
    labels: [...vocab.target.toIndices(p.tgt), eosId],
  });
  const padRows = (rows) => {
    const width = Math.max(...rows.map((r) => r.length));
    return k.tensor(
      rows.map((r) => [...r, ...new Array(width - r.length).fill(padId)]),
      { dtype: 'int32' },
    );
  };
  const encoded = pairs.map(encode);
  const bySourceLength = encoded.map((_, i) => i).sort((a, b) => encoded[a].src.length - encoded[b].src.length);
  const buckets = [];
  for (let i = 0; i + batchSize <= bySourceLength.length; i += batchSize)
    buckets.push(bySourceLength.slice(i, i + batchSize));
  /** The padded { src, tgtIn, labels } int32 tensors of encoded rows. */
  const batchOf = (rows) => ({
    src: padRows(rows.map((r) => r.src)),
    tgtIn: padRows(rows.map((r) => r.tgtIn)),
    labels: padRows(rows.map((r) => r.labels)),
  });
  const batchOfStep = (step) => {
    const order = epochRandom(seed, Math.floor(step / buckets.length)).permutation(buckets.length);
    return batchOf(buckets[order[step % buckets.length]].map((i) => encoded[i]));
  };
  return { padId, bosId, eosId, encode, padRows, batchOf, batchOfStep };
}
