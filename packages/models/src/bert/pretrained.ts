// Hugging Face BERT folders: config.json + model.safetensors (+ vocab.txt / tokenizer_config.json or
// tokenizer.json). One reader serves every BERT class, as HF's PreTrainedModel.from_pretrained
// does: checkpoints of BertForPreTraining ("bert." + "cls." keys), BertModel (bare keys) and
// BertForSequenceClassification ("bert." + "classifier." keys) load into any of them. Heads the
// checkpoint lacks keep HF's fresh initialisation (with a warning, as HF logs one); the encoder
// must be complete. Older files' quirks are accepted: the embeddings.position_ids buffer, LayerNorm
// gamma/beta names (TF conversions), and the tied cls.predictions.decoder weight and bias, which
// must equal the word embeddings and cls.predictions.bias.
import * as k from '@kiln/core';
import { nn } from '@kiln/nn';
import { BertNormalizer, type Tokenizer, Tokenizer as TokenizerClass, WordPiece } from '@kiln/tokenizers';
import type { FromPretrainedOptions } from '../gpt/pretrained.js';
import { BertConfig, type BertConfigInit } from './config.js';

export interface BertFromPretrainedOptions extends FromPretrainedOptions {
  /**
   * Receives the report of newly initialised and unused weights (HF logs the same warnings);
   * default console.warn, null for silence.
   */
  warn?: ((message: string) => void) | null;
}

const BASE = 'bert.';
const BARE_BASE = /^(embeddings|encoder|pooler)\./;
const POSITION_IDS = /^(bert\.)?embeddings\.position_ids$/;
/** The tied copies a checkpoint may store, and the parameter each must equal. */
const TIED: Record<string, string> = {
  'cls.predictions.decoder.weight': 'bert.embeddings.word_embeddings.weight',
  'cls.predictions.decoder.bias': 'cls.predictions.bias',
};

async function nodeFs() {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

async function exists(file: string): Promise<boolean> {
  const { fs } = await nodeFs();
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function readJson(file: string, who: string): Promise<Record<string, unknown>> {
  const { fs } = await nodeFs();
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${who}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * A checkpoint's tensors under "bert."-prefixed names (BertModel files get the prefix), without
 * position_ids, with LayerNorm.gamma/beta renamed; the tied copies are returned apart.
 */
export function bertStateFromCheckpoint(tensors: Record<string, k.Tensor>): {
  state: Record<string, k.Tensor>;
  tied: Record<string, k.Tensor>;
} {
  const state: Record<string, k.Tensor> = {};
  const tied: Record<string, k.Tensor> = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (POSITION_IDS.test(key)) {
      t.dispose();
      continue;
    }
    let name = BARE_BASE.test(key) ? BASE + key : key;
    name = name
      .replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight')
      .replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
    if (name in TIED) tied[name] = t;
    else state[name] = t;
  }
  return { state, tied };
}

/** What a model class must provide to be built by fromPretrained. */
export interface BertClass<T extends BertPreTrainedModel> {
  new (config: BertConfig, options?: { init?: boolean }): T;
  readonly name: string;
}

/**
 * The shared surface of the BERT classes (HF's BertPreTrainedModel): the config, the tokenizer
 * found next to the weights, fromPretrained and save in Hugging Face's folder layout.
 */
export abstract class BertPreTrainedModel extends nn.Module {
  readonly config: BertConfig;
  /** The tokenizer fromPretrained found next to the weights (saved with the model). */
  tokenizer: Tokenizer | null = null;
  /** The class name config.json's `architectures` records (HF's). */
  abstract readonly architecture: string;
  /** The prefix of this model's parameter names in the "bert."-prefixed checkpoint naming: '' for
   * the heads models (their names are the checkpoint's), 'bert.' for BertModel (its names lack it). */
  protected readonly strippedPrefix: string = '';

  constructor(config: BertConfig | BertConfigInit) {
    super();
    this.config = config instanceof BertConfig ? config : new BertConfig(config);
  }

  /** Applies HF's weight initialisation to every module under `root` (the model by default). */
  abstract initWeights(root?: nn.Module): void;

  get device(): k.Device {
    return this.parameters().next().value?.device ?? k.getDefaultDevice();
  }

  /**
   * Loads a Hugging Face BERT folder (config.json, model.safetensors, and vocab.txt with
   * tokenizer_config.json or tokenizer.json when present), in eval mode. Any of the three
   * checkpoint kinds loads into any BERT class; heads it lacks are freshly initialised (reported
   * to `warn`), a missing encoder weight is an error.
   */
  static async fromPretrained<T extends BertPreTrainedModel>(
    this: BertClass<T>,
    dir: string,
    options: BertFromPretrainedOptions = {},
  ): Promise<T> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass called (BERT, BertModel, ...), which is the one to build
    const who = `${this.name}.fromPretrained`;
    const { path } = await nodeFs();
    const device = options.device ?? k.getDefaultDevice();
    const config = new BertConfig((await readJson(path.join(dir, 'config.json'), who)) as BertConfigInit);
    const weightsPath = path.join(dir, 'model.safetensors');
    if (!(await exists(weightsPath)))
      throw new Error(
        `${who}: ${weightsPath} not found (only safetensors checkpoints are read; convert pytorch_model.bin first)`,
      );
    const { state, tied } = bertStateFromCheckpoint(await k.loadSafetensors(weightsPath, { device }));
    const model = new this(config, { init: false });
    try {
      if (model.device !== device) model.to(device);
      await model.loadCheckpoint(who, state, tied, options.warn === undefined ? console.warn : options.warn);
    } catch (e) {
      model.dispose();
      throw e;
    } finally {
      for (const t of [...Object.values(state), ...Object.values(tied)]) t.dispose();
    }
    model.tokenizer = await loadTokenizer(dir);
    return model.eval();
  }

  /** Loads "bert."-named checkpoint tensors: see the file comment for what is accepted. */
  protected async loadCheckpoint(
    who: string,
    checkpoint: Record<string, k.Tensor>,
    tied: Record<string, k.Tensor>,
    warn: ((message: string) => void) | null,
  ): Promise<void> {
    const params = new Map(this.namedParameters());
    const own = (name: string) =>
      name.startsWith(this.strippedPrefix) ? name.slice(this.strippedPrefix.length) : null;
    const state: Record<string, k.Tensor> = {};
    const unused: string[] = [];
    for (const [name, t] of Object.entries(checkpoint)) {
      const key = own(name);
      if (key !== null && params.has(key)) state[key] = t;
      else unused.push(name);
    }
    const missing = [...params.keys()].filter((name) => !(name in state));
    const encoder = missing.filter((name) => /(^|\.)(embeddings|encoder)\./.test(name));
    if (encoder.length > 0)
      throw new Error(
        `${who}: the checkpoint lacks ${encoder.length} encoder weight(s) (${encoder.slice(0, 3).join(', ')}${encoder.length > 3 ? ', ...' : ''}); is it a BERT checkpoint?`,
      );
    for (const [name, copy] of Object.entries(tied)) {
      const key = own(TIED[name]);
      const loaded = key === null ? undefined : state[key];
      if (!loaded) continue;
      // Read asynchronously: itemSync is unavailable on WebGPU.
      const same = k.noGrad(() => k.tidy(() => copy.to(loaded.dtype).eq(loaded).all()));
      const equal = (await same.item()) !== 0;
      same.dispose();
      if (!equal)
        throw new Error(
          `${who}: ${name} differs from ${TIED[name]}; BERT ties them (untied heads are not supported)`,
        );
    }
    this.loadStateDict(state, { strict: false });
    if (missing.length > 0) {
      // As HF: exactly the modules whose weights were missing (e.g. a new classifier) get the init.
      const owners = new Set(missing.map((name) => name.slice(0, name.lastIndexOf('.'))));
      for (const [name, m] of this.namedModules()) if (owners.has(name)) this.initWeights(m);
      warn?.(
        `${who}: newly initialised (not in the checkpoint): ${missing.join(', ')}; train the model before using it for predictions`,
      );
    }
    if (unused.length > 0)
      warn?.(`${who}: checkpoint weights not used by ${this.architecture}: ${unused.join(', ')}`);
  }

  /** Writes the folder fromPretrained reads, as HF's save_pretrained writes it (no tied copies). */
  async save(dir: string): Promise<void> {
    const { fs, path } = await nodeFs();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'config.json'),
      `${JSON.stringify(this.config.toJSON(this.architecture), null, 2)}\n`,
    );
    await k.saveSafetensors(path.join(dir, 'model.safetensors'), this.stateDict(), { format: 'pt' });
    if (this.tokenizer) await saveTokenizer(dir, this.tokenizer, this.config);
  }
}

/** tokenizer.json when present, else vocab.txt as BertTokenizer reads it (tokenizer_config.json). */
async function loadTokenizer(dir: string): Promise<Tokenizer | null> {
  const { path } = await nodeFs();
  const json = path.join(dir, 'tokenizer.json');
  if (await exists(json)) return TokenizerClass.fromFile(json);
  const vocab = path.join(dir, 'vocab.txt');
  if (!(await exists(vocab))) return null;
  const configPath = path.join(dir, 'tokenizer_config.json');
  const settings = (await exists(configPath)) ? await readJson(configPath, 'BERT tokenizer') : {};
  // BertTokenizer's defaults: do_lower_case true, strip_accents following it, CJK spaced out.
  return WordPiece.fromVocab(vocab, {
    lowercase: settings.do_lower_case === undefined ? true : Boolean(settings.do_lower_case),
    stripAccents: typeof settings.strip_accents === 'boolean' ? settings.strip_accents : null,
    handleChineseChars:
      settings.tokenize_chinese_chars === undefined ? true : Boolean(settings.tokenize_chinese_chars),
  });
}

/** tokenizer.json + vocab.txt (the tokenizer's own save) and BertTokenizer's tokenizer_config.json. */
async function saveTokenizer(dir: string, tokenizer: Tokenizer, config: BertConfig): Promise<void> {
  const { fs, path } = await nodeFs();
  await tokenizer.save(dir);
  const normalizer = tokenizer.normalizer;
  const settings = {
    do_lower_case: normalizer instanceof BertNormalizer ? normalizer.lowercase : false,
    model_max_length: config.max_position_embeddings,
    tokenizer_class: 'BertTokenizer',
  };
  await fs.writeFile(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(settings, null, 2)}\n`);
}
