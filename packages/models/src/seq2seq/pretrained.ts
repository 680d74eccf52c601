// Seq2Seq folders: config.json (Seq2SeqConfig's fields), model.safetensors (the state dict under the
// PyTorch tutorial's module names) and, when the model carries word vocabularies,
// source_vocab.json / target_vocab.json (each the index -> token list). No Hugging Face layout
// exists for this model; this mirrors GPT's folder so the same tools read both.
import * as k from '@kiln/core';
import { Vocab } from '@kiln/data';
import { Seq2SeqConfig, type Seq2SeqConfigInit } from './config.js';

export interface Seq2SeqFolder {
  config: Seq2SeqConfig;
  /** Parameters by name on the requested device; the caller disposes them. */
  state: Record<string, k.Tensor>;
  vocab: { source: Vocab; target: Vocab } | null;
}

async function nodeFs() {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

async function readJson(op: string, file: string): Promise<unknown> {
  const { fs } = await nodeFs();
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`${op}: cannot read ${file}: ${(e as Error).message}`);
  }
}

async function exists(file: string): Promise<boolean> {
  const { fs } = await nodeFs();
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export async function readSeq2SeqFolder(dir: string, device: k.Device): Promise<Seq2SeqFolder> {
  const { path } = await nodeFs();
  const op = 'Seq2Seq.fromPretrained';
  const config = new Seq2SeqConfig((await readJson(op, path.join(dir, 'config.json'))) as Seq2SeqConfigInit);
  const weights = path.join(dir, 'model.safetensors');
  if (!(await exists(weights))) throw new Error(`${op}: ${weights} not found`);
  const state = await k.loadSafetensors(weights, { device });
  const [src, tgt] = [path.join(dir, 'source_vocab.json'), path.join(dir, 'target_vocab.json')];
  let vocab: Seq2SeqFolder['vocab'] = null;
  if ((await exists(src)) && (await exists(tgt))) {
    vocab = {
      source: Vocab.fromTokens((await readJson(op, src)) as string[]),
      target: Vocab.fromTokens((await readJson(op, tgt)) as string[]),
    };
  }
  return { config, state, vocab };
}

export async function writeSeq2SeqFolder(
  dir: string,
  config: Seq2SeqConfig,
  state: Record<string, k.Tensor>,
  vocab: Seq2SeqFolder['vocab'],
): Promise<void> {
  const { fs, path } = await nodeFs();
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config.toJSON(), null, 2)}\n`);
  await k.saveSafetensors(path.join(dir, 'model.safetensors'), state, { format: 'pt' });
  if (vocab) {
    await fs.writeFile(path.join(dir, 'source_vocab.json'), `${JSON.stringify(vocab.source.tokens)}\n`);
    await fs.writeFile(path.join(dir, 'target_vocab.json'), `${JSON.stringify(vocab.target.tokens)}\n`);
  }
}
