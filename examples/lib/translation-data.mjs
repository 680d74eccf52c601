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
import { normalizeTranslationText, Random } from '@kiln/data';

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
