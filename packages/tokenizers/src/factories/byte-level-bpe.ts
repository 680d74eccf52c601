import { ByteLevelDecoder } from '../decoders/byte-level.js';
import { type FileSource, readSource } from '../io/source.js';
import { parseMergesTxt, parseVocabJson } from '../io/vocab-files.js';
import { BPEModel } from '../models/bpe.js';
import { ByteLevelProcessor } from '../post-processors/byte-level.js';
import { ByteLevelPreTokenizer } from '../pre-tokenizers/byte-level.js';
import { Tokenizer } from '../tokenizer.js';

export interface ByteLevelBPEOptions {
  /** RoBERTa-style leading space. Default false (GPT-2). */
  addPrefixSpace?: boolean;
  /** Exclude the leading space from token offsets. Default false (GPT-2 keeps it, as HF's gpt2 file). */
  trimOffsets?: boolean;
  /**
   * Tokens to match whole in raw text as special tokens. Default: "<|endoftext|>" when the
   * vocabulary has it, as in Hugging Face's gpt2 tokenizer.json.
   */
  specialTokens?: string[];
}

/** Byte-level BPE (GPT-2, RoBERTa): byte-level pre-tokenizer, BPE model, byte-level decoder. */
export const ByteLevelBPE = {
  /** A byte-level BPE tokenizer from a vocabulary and merge list. */
  fromModel(model: BPEModel, options: ByteLevelBPEOptions = {}): Tokenizer {
    const addPrefixSpace = options.addPrefixSpace ?? false;
    const trimOffsets = options.trimOffsets ?? false;
    const tok = new Tokenizer({
      model,
      preTokenizer: new ByteLevelPreTokenizer({ addPrefixSpace, trimOffsets: true, useRegex: true }),
      postProcessor: new ByteLevelProcessor(addPrefixSpace, trimOffsets, true),
      decoder: new ByteLevelDecoder(addPrefixSpace, true, true),
    });
    const specials =
      options.specialTokens ?? (model.tokenToId('<|endoftext|>') === undefined ? [] : ['<|endoftext|>']);
    tok.addSpecialTokens(specials);
    tok.inferSpecialTokens();
    return tok;
  },

  /**
   * GPT-2 style files: vocab.json (`{"token": id}`) and merges.txt. Each argument is a path (Node)
   * or the file contents (string or bytes).
   */
  async fromFiles(
    vocab: FileSource,
    merges: FileSource,
    options: ByteLevelBPEOptions = {},
  ): Promise<Tokenizer> {
    const v = await readSource(vocab, /^\s*\{/);
    const m = await readSource(merges, /^#version/);
    const model = new BPEModel(parseVocabJson(v.text, v.name), parseMergesTxt(m.text, m.name), {
      continuingSubwordPrefix: null,
      endOfWordSuffix: null,
    });
    return ByteLevelBPE.fromModel(model, options);
  },
};
