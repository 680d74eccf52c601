#!/usr/bin/env node
/**
 * kiln-tokenizers: train a tokenizer on text files and write tokenizer.json (+ vocab files), or
 * encode text with a saved tokenizer.
 *
 *   kiln-tokenizers train --vocab-size 8192 input.txt [more.txt ...] out/
 *   kiln-tokenizers encode out/tokenizer.json "some text"
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BPE } from './factories/bpe.js';
import { WordPiece } from './factories/wordpiece.js';
import { Tokenizer } from './tokenizer.js';

const USAGE = `usage:
  kiln-tokenizers train [options] <input.txt ...> <out-dir>
      --model bpe|wordpiece     default bpe (byte-level, GPT-2 style)
      --vocab-size N            default 8192
      --min-frequency N         default 2
      --special-tokens a,b,c    default "<|endoftext|>" (bpe) or BERT's five (wordpiece)
      --char-level              bpe on characters with "</w>" instead of bytes
      --cased                   wordpiece: keep case and accents
      --quiet                   no progress bar
  kiln-tokenizers encode <tokenizer.json> <text>
`;

async function train(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', default: 'bpe' },
      'vocab-size': { type: 'string', default: '8192' },
      'min-frequency': { type: 'string', default: '2' },
      'special-tokens': { type: 'string' },
      'char-level': { type: 'boolean', default: false },
      cased: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length < 2)
    throw new UsageError('train needs at least one input file and an output directory');
  const out = positionals[positionals.length - 1];
  const inputs = positionals.slice(0, -1);
  const vocabSize = positiveInt(values['vocab-size'], '--vocab-size');
  const minFrequency = positiveInt(values['min-frequency'], '--min-frequency');
  const specialTokens = values['special-tokens']?.split(',').filter((t) => t.length > 0);
  // Each file is one text: the trainer sees the same word boundaries the encoder will.
  const texts = await Promise.all(inputs.map((f) => readFile(f, 'utf8')));
  const started = performance.now();
  const showProgress = !values.quiet;
  let tok: Tokenizer;
  if (values.model === 'wordpiece') {
    tok = WordPiece.train(texts, {
      vocabSize,
      minFrequency,
      specialTokens,
      lowercase: !values.cased,
      showProgress,
    });
  } else if (values.model === 'bpe') {
    tok = BPE.train(texts, {
      vocabSize,
      minFrequency,
      specialTokens: specialTokens ?? ['<|endoftext|>'],
      byteLevel: !values['char-level'],
      showProgress,
    });
  } else {
    throw new UsageError(`unknown --model "${values.model}" (bpe or wordpiece)`);
  }
  await tok.save(out);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  process.stdout.write(
    `trained ${values.model} with ${tok.vocabSize} tokens in ${seconds} s -> ${out}/tokenizer.json\n`,
  );
}

async function encode(argv: string[]): Promise<void> {
  const [file, ...words] = argv;
  if (file === undefined || words.length === 0)
    throw new UsageError('encode needs a tokenizer.json and a text');
  const tok = await Tokenizer.fromFile(file);
  const enc = tok.encode(words.join(' '));
  process.stdout.write(
    `${JSON.stringify({ ids: Array.from(enc.ids), tokens: enc.tokens, offsets: enc.offsets })}\n`,
  );
}

class UsageError extends Error {}

function positiveInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === 'train') await train(rest);
    else if (command === 'encode') await encode(rest);
    else throw new UsageError(command === undefined ? 'no command' : `unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kiln-tokenizers: ${err.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`kiln-tokenizers: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}

void main();
