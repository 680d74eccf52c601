// Seq2Seq: a GRU encoder and a GRU decoder with Bahdanau (additive) attention, the model of
// PyTorch's "NLP From Scratch: Seq2SeqTranslation with a Sequence to Sequence Network and Attention"
// tutorial (EncoderRNN, BahdanauAttention, AttnDecoderRNN) and of TensorFlow's nmt_with_attention,
// after Bahdanau, Cho and Bengio (2015), "Neural Machine Seq2SeqTranslation by Jointly Learning to Align and
// Translate". Module names are the tutorial's, so a PyTorch state dict loads unchanged
// (scripts/fixtures/seq2seq.py builds the same tree). Sources are right-padded with padId: the
// decoder starts from the encoder state after each source's last real token (what PyTorch's
// pack_padded_sequence gives), and attention gives padding zero weight.
import * as k from '@kiln/core';
import { normalizeTranslationText, type Vocab } from '@kiln/data';
import { F, nn } from '@kiln/nn';
import { Seq2SeqConfig, type Seq2SeqConfigInit } from './config.js';
import { readSeq2SeqFolder, writeSeq2SeqFolder } from './pretrained.js';
import { beamSearch, greedySearch, type Seq2SeqTranslation } from './search.js';

/** What the decoder reads from the encoder: its outputs (attention keys and values) and the mask. */
export interface EncoderMemory {
  /** Encoder outputs h_j, [B, S, H]: the keys and values of attention. */
  keys: k.Tensor;
  /** Ua h_j + b, [B, S, H], computed once per source instead of once per decoder step. */
  projectedKeys: k.Tensor;
  /** [B, S] boolean, true at real source tokens. */
  mask: k.Tensor;
}

export interface Seq2SeqForwardOptions {
  /** [B, S] with true (or 1) at real source tokens; default srcIds != padId. */
  srcMask?: k.Tensor | null;
  /** [B, T] the tokens to predict (tgtInputIds shifted left, ending in eosId); padId is ignored. */
  labels?: k.Tensor | null;
}

export interface Seq2SeqOutput {
  /** [B, T, tgtVocabSize] */
  logits: k.Tensor;
  /** [B, T, S] attention weights of each decoder step over the source; rows sum to 1. */
  attention: k.Tensor;
  /** Mean cross entropy over label tokens that are not padding. */
  loss?: k.Tensor;
  /** [1, B, H] the decoder state after the last step (to continue decoding). */
  hidden: k.Tensor;
}

export interface Seq2SeqTranslateOptions {
  /** The most tokens to generate, eosId included (default 50). */
  maxLength?: number;
  /** 1 (default): greedy search; more: beam search with that many beams. */
  numBeams?: number;
}

/** A translation of a sentence: the ids, score and attention, with the words on both axes. */
export interface Seq2SeqSentenceTranslation extends Seq2SeqTranslation {
  /** The target words of `tokens` (the end token included when generated): the heat map's rows. */
  words: string[];
  /** The source words the model read, its end token included: the heat map's columns. */
  sourceWords: string[];
  /** The translation as text: `words` without the end token, joined by spaces. */
  text: string;
}

function shapeText(t: k.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

function checkIds(op: string, name: string, ids: k.Tensor): void {
  if (ids.ndim !== 2 || k.isFloating(ids.dtype) || ids.dtype === 'bool')
    throw new Error(`${op}: expected integer ${name} [batch, seq], got ${ids.dtype} ${shapeText(ids)}`);
}

/** The source side: embeddings (with dropout while training) read by a unidirectional GRU. */
export class Seq2SeqEncoder extends nn.Module {
  embedding: nn.Embedding;
  dropout: nn.Dropout;
  gru: nn.GRU;

  constructor(config: Seq2SeqConfig) {
    super();
    this.embedding = new nn.Embedding(config.srcVocabSize, config.embedDim, { paddingIdx: config.padId });
    this.dropout = new nn.Dropout(config.dropout);
    this.gru = new nn.GRU(config.embedDim, config.hiddenSize, { batchFirst: true });
  }

  /**
   * srcIds [B, S] right-padded, mask [B, S]. Returns the outputs [B, S, H] and the state after each
   * row's last real token, [1, B, H]. A forward GRU's outputs before the padding do not depend on
   * it, so gathering output[length - 1] equals running the unpadded source alone.
   */
  override forward(srcIds: k.Tensor, mask: k.Tensor): [k.Tensor, k.Tensor] {
    const [output] = this.gru.forward(this.dropout.forward(this.embedding.forward(srcIds)));
    const [b, , h] = output.shape;
    const last = mask.to('int32').sum(1).sub(1).to('int32').reshape(b, 1, 1).expand(b, 1, h);
    return [output, output.gather(1, last).transpose(0, 1)];
  }
}

/** score(s, h_j) = Va^T tanh(Wa s + Ua h_j) (Bahdanau et al. 2015, eq. 6 and appendix A.1.2). */
export class BahdanauAttention extends nn.Module {
  Wa: nn.Linear;
  Ua: nn.Linear;
  Va: nn.Linear;

  constructor(hiddenSize: number) {
    super();
    this.Wa = new nn.Linear(hiddenSize, hiddenSize);
    this.Ua = new nn.Linear(hiddenSize, hiddenSize);
    this.Va = new nn.Linear(hiddenSize, 1);
  }

  /** Ua h_j for every source position, reused by every decoder step. */
  projectKeys(keys: k.Tensor): k.Tensor {
    return this.Ua.forward(keys);
  }

  /**
   * query [B, H] (the decoder state s_{i-1}). Returns the context sum_j a_ij h_j [B, H] and the
   * weights a_i [B, S]. Scores at padding are set to the dtype's most negative finite value before
   * the softmax (as the TensorFlow tutorial masks them), so their weight is exactly 0.
   */
  override forward(query: k.Tensor, memory: EncoderMemory): [k.Tensor, k.Tensor] {
    const energy = this.Wa.forward(query).unsqueeze(1).add(memory.projectedKeys).tanh();
    const scores = this.Va.forward(energy).squeeze(2);
    const weights = scores.maskedFill(memory.mask.logicalNot(), k.finfo(scores.dtype).min).softmax(-1);
    const context = weights.unsqueeze(1).bmm(memory.keys).squeeze(1);
    return [context, weights];
  }
}

/** The target side: y_{i-1} embedded, concatenated with the context, read by a GRU, projected to words. */
export class AttnDecoder extends nn.Module {
  embedding: nn.Embedding;
  dropout: nn.Dropout;
  attention: BahdanauAttention;
  gru: nn.GRU;
  out: nn.Linear;

  constructor(config: Seq2SeqConfig) {
    super();
    this.embedding = new nn.Embedding(config.tgtVocabSize, config.embedDim, { paddingIdx: config.padId });
    this.dropout = new nn.Dropout(config.dropout);
    this.attention = new BahdanauAttention(config.hiddenSize);
    this.gru = new nn.GRU(config.embedDim + config.hiddenSize, config.hiddenSize, { batchFirst: true });
    this.out = new nn.Linear(config.hiddenSize, config.tgtVocabSize);
  }

  /**
   * Teacher forcing over inputIds [B, T] (each step reads the given token, not its own guess), from
   * state hidden [1, B, H]. Each step's query is the state before it (s_{i-1}, as in the paper and
   * the tutorial). Returns logits [B, T, V], attention [B, T, S] and the final state [1, B, H].
   */
  override forward(
    inputIds: k.Tensor,
    hidden: k.Tensor,
    memory: EncoderMemory,
  ): [k.Tensor, k.Tensor, k.Tensor] {
    const embedded = this.dropout.forward(this.embedding.forward(inputIds));
    const steps = inputIds.shape[1];
    const outputs: k.Tensor[] = [];
    const weights: k.Tensor[] = [];
    let h = hidden;
    for (let t = 0; t < steps; t++) {
      const [context, w] = this.attention.forward(h.squeeze(0), memory);
      const input = k.cat([embedded.select(1, t), context], 1).unsqueeze(1);
      const [output, next] = this.gru.forward(input, h);
      outputs.push(output);
      weights.push(w);
      h = next;
    }
    return [this.out.forward(k.cat(outputs, 1)), k.stack(weights, 1), h];
  }
}

export class Seq2Seq extends nn.Module {
  readonly config: Seq2SeqConfig;
  encoder: Seq2SeqEncoder;
  decoder: AttnDecoder;
  /** Word vocabularies for translating sentences (saved with the model when set). */
  vocab: { source: Vocab; target: Vocab } | null = null;

  constructor(config: Seq2SeqConfig | Seq2SeqConfigInit) {
    super();
    this.config = config instanceof Seq2SeqConfig ? config : new Seq2SeqConfig(config);
    this.encoder = new Seq2SeqEncoder(this.config);
    this.decoder = new AttnDecoder(this.config);
  }

  /** Reads a folder written by save() (config.json, model.safetensors, vocabularies), in eval mode. */
  static async fromPretrained(dir: string, options: { device?: k.Device } = {}): Promise<Seq2Seq> {
    const device = options.device ?? k.getDefaultDevice();
    const { config, state, vocab } = await readSeq2SeqFolder(dir, device);
    const model = new Seq2Seq(config);
    try {
      if (model.device !== device) model.to(device);
      model.loadStateDict(state);
    } catch (e) {
      model.dispose();
      throw e;
    } finally {
      k.dispose(state);
    }
    model.vocab = vocab;
    return model.eval();
  }

  /** Writes config.json and model.safetensors, and the vocabularies when the model has them. */
  async save(dir: string): Promise<void> {
    await writeSeq2SeqFolder(dir, this.config, this.stateDict(), this.vocab);
  }

  get device(): k.Device {
    return this.encoder.embedding.weight.device;
  }

  /**
   * Source ids of a sentence as the example trains on them (the d2l / TF tutorial preprocessing):
   * normalizeTranslationText (lowercase, accents stripped, punctuation split off), words looked up
   * in the source vocabulary, then eosId.
   */
  sourceIds(sentence: string): number[] {
    const vocab = this.requireVocab('Seq2Seq.sourceIds');
    const words = normalizeTranslationText(sentence)
      .split(' ')
      .filter((w) => w !== '');
    return [...vocab.source.toIndices(words), this.config.eosId];
  }

  /**
   * Translates one source: a sentence (needs `vocab`), or its ids (a list or an int tensor [S] or
   * [1, S], no padding). Greedy by default, beam search with numBeams > 1. Returns the target ids,
   * their summed log-probability and the attention matrix [target length, source length]; for a
   * sentence also the words on both axes and the text.
   */
  async translate(source: string, options?: Seq2SeqTranslateOptions): Promise<Seq2SeqSentenceTranslation>;
  async translate(
    source: readonly number[] | k.Tensor,
    options?: Seq2SeqTranslateOptions,
  ): Promise<Seq2SeqTranslation>;
  async translate(
    source: string | readonly number[] | k.Tensor,
    options: Seq2SeqTranslateOptions = {},
  ): Promise<Seq2SeqTranslation | Seq2SeqSentenceTranslation> {
    const ids = typeof source === 'string' ? this.sourceIds(source) : null;
    let src: k.Tensor;
    if (k.isTensor(source)) src = source.ndim === 1 ? source.unsqueeze(0) : source;
    else src = k.tensor([ids ?? [...(source as readonly number[])]], { dtype: 'int32', device: this.device });
    if (src.ndim !== 2 || src.shape[0] !== 1 || src.shape[1] === 0)
      throw new Error(
        `Seq2Seq.translate: expected one non-empty source [S] or [1, S], got [${src.shape.join(', ')}]`,
      );
    const numBeams = options.numBeams ?? 1;
    const result =
      numBeams === 1
        ? (await greedySearch(this, src, options))[0]
        : await beamSearch(this, src, { ...options, numBeams });
    if (src !== source) src.dispose();
    if (!ids) return result;
    const vocab = this.requireVocab('Seq2Seq.translate');
    const words = vocab.target.toTokens(result.tokens);
    const content = result.tokens.at(-1) === this.config.eosId ? words.slice(0, -1) : words;
    return { ...result, words, sourceWords: vocab.source.toTokens(ids), text: content.join(' ') };
  }

  /**
   * Greedy translations of many sources at once (ids lists, padded here): one batched decoder step
   * per output position instead of one per sentence, for evaluating a whole test set.
   */
  async translateBatch(
    sources: readonly (readonly number[])[],
    options: Omit<Seq2SeqTranslateOptions, 'numBeams'> = {},
  ): Promise<Seq2SeqTranslation[]> {
    const width = Math.max(...sources.map((s) => s.length));
    if (sources.length === 0 || sources.some((s) => s.length === 0))
      throw new Error('Seq2Seq.translateBatch: expected at least one source, none of them empty');
    const padded = sources.map((s) => [...s, ...new Array<number>(width - s.length).fill(this.config.padId)]);
    const src = k.tensor(padded, { dtype: 'int32', device: this.device });
    const mask = k.tensor(
      sources.map((s) => Array.from({ length: width }, (_, j) => (j < s.length ? 1 : 0))),
      { dtype: 'int32', device: this.device },
    );
    try {
      return await greedySearch(this, src, { ...options, srcMask: mask });
    } finally {
      k.dispose([src, mask]);
    }
  }

  private requireVocab(op: string): { source: Vocab; target: Vocab } {
    if (!this.vocab)
      throw new Error(
        `${op}: the model has no vocabularies (set model.vocab = { source, target } to translate sentences)`,
      );
    return this.vocab;
  }

  /** Runs the encoder on right-padded srcIds [B, S]: the decoder's memory and its first state [1, B, H]. */
  encode(srcIds: k.Tensor, srcMask: k.Tensor | null = null): { memory: EncoderMemory; hidden: k.Tensor } {
    checkIds('Seq2Seq.encode', 'srcIds', srcIds);
    const mask = srcMask ? srcMask.ne(0) : srcIds.ne(this.config.padId);
    if (mask.ndim !== 2 || mask.shape[0] !== srcIds.shape[0] || mask.shape[1] !== srcIds.shape[1])
      throw new Error(
        `Seq2Seq.encode: srcMask must be ${shapeText(srcIds)} like srcIds, got ${shapeText(mask)}`,
      );
    const [keys, hidden] = this.encoder.forward(srcIds, mask);
    return { memory: { keys, projectedKeys: this.decoder.attention.projectKeys(keys), mask }, hidden };
  }

  /**
   * srcIds [B, S] and tgtInputIds [B, T] (bosId then the target, right-padded): teacher-forced
   * logits [B, T, V], attention [B, T, S], and with labels the cross entropy averaged over the label
   * tokens that are not padId (PyTorch's ignore_index: padding adds nothing to loss or gradient).
   */
  override forward(
    srcIds: k.Tensor,
    tgtInputIds: k.Tensor,
    options: Seq2SeqForwardOptions = {},
  ): Seq2SeqOutput {
    checkIds('Seq2Seq.forward', 'tgtInputIds', tgtInputIds);
    if (tgtInputIds.shape[0] !== srcIds.shape[0])
      throw new Error(
        `Seq2Seq.forward: srcIds ${shapeText(srcIds)} and tgtInputIds ${shapeText(tgtInputIds)} have different batch sizes`,
      );
    const { memory, hidden } = this.encode(srcIds, options.srcMask ?? null);
    const [logits, attention, last] = this.decoder.forward(tgtInputIds, hidden, memory);
    const out: Seq2SeqOutput = { logits, attention, hidden: last };
    const labels = options.labels ?? null;
    if (labels) {
      const [b, t, v] = logits.shape;
      if (labels.ndim !== 2 || labels.shape[0] !== b || labels.shape[1] !== t)
        throw new Error(
          `Seq2Seq.forward: labels must be [${b}, ${t}] like tgtInputIds, got ${shapeText(labels)}`,
        );
      out.loss = F.crossEntropy(logits.reshape(b * t, v), labels.reshape(b * t), {
        ignoreIndex: this.config.padId,
      });
    }
    return out;
  }
}
