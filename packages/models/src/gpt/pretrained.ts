// Hugging Face GPT-2 folders: config.json + model.safetensors (+ tokenizer files). Reading accepts
// both key layouts found on the Hub: the current one ("transformer.wte.weight", ...) and the
// original upload's bare names ("wte.weight", ...) with the attn.bias / attn.masked_bias mask
// buffers, which are constants of the architecture and are ignored. lm_head.weight, when a file
// has it, is the tied wte and must equal it. Writing uses the current layout, as
// GPT2LMHeadModel.save_pretrained does: "transformer." keys, no lm_head.weight, no buffers.
import * as k from '@kiln/core';
import { ByteLevelBPE, Tokenizer } from '@kiln/tokenizers';
import { GPTConfig } from './config.js';

const PREFIX = 'transformer.';
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

export interface FromPretrainedOptions {
  device?: k.Device;
}

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

/** Maps a checkpoint's keys to the model's parameter names; reports what it dropped. */
export function gptStateFromCheckpoint(tensors: Record<string, k.Tensor>): {
  state: Record<string, k.Tensor>;
  lmHead: k.Tensor | null;
} {
  const state: Record<string, k.Tensor> = {};
  let lmHead: k.Tensor | null = null;
  for (const [key, t] of Object.entries(tensors)) {
    if (key === 'lm_head.weight') {
      lmHead = t;
      continue;
    }
    const name = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
    if (MASK_BUFFER.test(name)) {
      t.dispose();
      continue;
    }
    state[name] = t;
  }
  return { state, lmHead };
}

export interface PretrainedFolder {
  config: GPTConfig;
  /** Parameters by the model's names (no "transformer." prefix); the caller disposes them. */
  state: Record<string, k.Tensor>;
  /** lm_head.weight when the file stores the tied head explicitly. */
  lmHead: k.Tensor | null;
  tokenizer: Tokenizer | null;
}

/** Reads a Hugging Face GPT-2 folder: config, weights on `device`, tokenizer when present. */
export async function readPretrained(dir: string, device: k.Device): Promise<PretrainedFolder> {
  const { fs, path } = await nodeFs();
  const configPath = path.join(dir, 'config.json');
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(await fs.readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`GPT.fromPretrained: cannot read ${configPath}: ${(e as Error).message}`);
  }
  const config = new GPTConfig(fields);
  const weightsPath = path.join(dir, 'model.safetensors');
  if (!(await exists(weightsPath)))
    throw new Error(
      `GPT.fromPretrained: ${weightsPath} not found (only safetensors checkpoints are read; convert pytorch_model.bin first)`,
    );
  const tensors = await k.loadSafetensors(weightsPath, { device });
  const { state, lmHead } = gptStateFromCheckpoint(tensors);
  return { config, state, lmHead, tokenizer: await loadTokenizer(dir) };
}

/** tokenizer.json when present, else vocab.json + merges.txt (byte-level BPE), else null. */
async function loadTokenizer(dir: string): Promise<Tokenizer | null> {
  const { path } = await nodeFs();
  const json = path.join(dir, 'tokenizer.json');
  if (await exists(json)) return Tokenizer.fromFile(json);
  const vocab = path.join(dir, 'vocab.json');
  const merges = path.join(dir, 'merges.txt');
  if ((await exists(vocab)) && (await exists(merges))) return ByteLevelBPE.fromFiles(vocab, merges);
  return null;
}

/** Writes config.json, model.safetensors ("transformer." keys) and the tokenizer when there is one. */
export async function writePretrained(
  dir: string,
  config: GPTConfig,
  state: Record<string, k.Tensor>,
  tokenizer: Tokenizer | null,
): Promise<void> {
  const { fs, path } = await nodeFs();
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config.toJSON(), null, 2)}\n`);
  const record: Record<string, k.Tensor> = {};
  for (const [name, t] of Object.entries(state)) record[PREFIX + name] = t;
  await k.saveSafetensors(path.join(dir, 'model.safetensors'), record, { format: 'pt' });
  if (tokenizer) await tokenizer.save(dir);
}
