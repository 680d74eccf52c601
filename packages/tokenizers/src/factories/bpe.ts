import { BPEDecoder } from '../decoders/subword.js';
import { BPEModel } from '../models/bpe.js';
import { byteLevelAlphabet } from '../pre-tokenizers/byte-level-alphabet.js';
import { Whitespace } from '../pre-tokenizers/whitespace.js';
import { Tokenizer } from '../tokenizer.js';
import { type BPETrainerOptions, trainBPE } from '../trainers/bpe-trainer.js';
import { type ProgressCallback, progressReporter } from '../trainers/progress.js';
import { countByteLevelWords, countWords } from '../trainers/word-counts.js';
import { ByteLevelBPE } from './byte-level-bpe.js';

export interface BPETrainOptions extends BPETrainerOptions {
  /**
   * GPT-2 style (default): byte-level pre-tokenization with the GPT-2 pattern and the 256 byte
   * characters as initial alphabet, so any text encodes without unknown tokens. false: split on
   * whitespace and punctuation, characters as the alphabet, "</w>" marking word ends.
   */
  byteLevel?: boolean;
  /** Called as words are counted and merges are learned. */
  onProgress?: ProgressCallback;
  /** Draw a progress bar on stderr (a terminal gets a live bar, a log one line per stage). */
  showProgress?: boolean;
}

/** Training of BPE tokenizers. */
export const BPE = {
  /**
   * Learns a BPE vocabulary from texts (HF `BpeTrainer`) and returns the ready tokenizer.
   * Example: `BPE.train([text], { vocabSize: 8192, minFrequency: 2, specialTokens: ['<|endoftext|>'] })`.
   */
  train(texts: Iterable<string>, options: BPETrainOptions = {}): Tokenizer {
    const report = progressReporter(options.onProgress, options.showProgress);
    const byteLevel = options.byteLevel ?? true;
    const specialTokens = options.specialTokens ?? [];
    if (byteLevel) {
      const counts = countByteLevelWords(texts, report);
      const { vocab, merges } = trainBPE(
        counts,
        { ...options, initialAlphabet: options.initialAlphabet ?? byteLevelAlphabet() },
        report,
      );
      return ByteLevelBPE.fromModel(new BPEModel(vocab, merges), { specialTokens });
    }
    const suffix = options.endOfWordSuffix === undefined ? '</w>' : options.endOfWordSuffix;
    const pipeline = { normalizer: null, preTokenizer: new Whitespace() };
    const counts = countWords(pipeline, texts, report);
    const { vocab, merges } = trainBPE(counts, { ...options, endOfWordSuffix: suffix }, report);
    const unk = specialTokens.find((t) => t === '<unk>' || t === '[UNK]') ?? null;
    const tok = new Tokenizer({
      model: new BPEModel(vocab, merges, {
        unkToken: unk,
        endOfWordSuffix: suffix,
        continuingSubwordPrefix: options.continuingSubwordPrefix ?? null,
      }),
      preTokenizer: pipeline.preTokenizer,
      decoder: suffix === null ? null : new BPEDecoder(suffix),
    });
    tok.addSpecialTokens(specialTokens);
    tok.inferSpecialTokens();
    return tok;
  },
};
