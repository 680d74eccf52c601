// W7: GPT-2 encoding speed (Kiln vs gpt-tokenizer vs tiktoken, same process, same text) and
// byte-level BPE training time (8,192 tokens). Needs the built package: run `build` first.
//
//   node bench/w7.mjs [text-file] [--json out.json]
//
// Each encoder: 2 warm-up runs, then the median of 7 timed runs. Kiln's time covers `encode(text)`
// returning an Encoding (ids as Int32Array; tokens/offsets materialize lazily), gpt-tokenizer's
// `encode(text)` (number[]), tiktoken's `encode(text)` (Uint32Array).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');
if (!existsSync(dist)) {
  console.error('bench/w7.mjs: dist/index.js is missing; build first: pnpm --filter @kiln/tokenizers run build');
  process.exit(1);
}
const { BPE, ByteLevelBPE } = await import(dist);
const require = createRequire(import.meta.url);
const { get_encoding } = require('tiktoken');
const { encode: gptTokenizerEncode } = await import('gpt-tokenizer/encoding/r50k_base');

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : null;
const positional = args.filter((a, i) => a !== '--json' && i !== jsonAt + 1);
const defaultText = '/work/shared/data/english-5mb.txt';
const textPath = positional[0] ?? (existsSync(defaultText) ? defaultText : join(here, '..', 'test-data', 'moby-dick-excerpt.txt'));
const text = readFileSync(textPath, 'utf8');
const megabytes = Buffer.byteLength(text, 'utf8') / 1e6;

const WARMUP = 2;
const RUNS = 7;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(fn) {
  const t0 = performance.now();
  const out = fn();
  return [performance.now() - t0, out];
}

function measure(name, fn) {
  const [coldMs, ids] = time(fn);
  for (let i = 1; i < WARMUP; i++) fn();
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(time(fn)[0]);
  const ms = median(runs);
  return { name, medianMs: ms, mbPerS: megabytes / (ms / 1000), coldMs, runsMs: runs, ids };
}

const gpt2 = join(here, '..', 'test-data', 'gpt2');
const kiln = await ByteLevelBPE.fromFiles(join(gpt2, 'vocab.json'), join(gpt2, 'merges.txt'));
const tiktoken = get_encoding('gpt2');

const results = [
  measure('kiln', () => kiln.encode(text).ids),
  measure('gpt-tokenizer', () => gptTokenizerEncode(text)),
  measure('tiktoken (wasm)', () => tiktoken.encode(text, [], [])),
];
const reference = results[2].ids;
const identical = results.every((r) => r.ids.length === reference.length && r.ids.every((id, i) => id === reference[i]));

const trainRuns = [];
let vocabSize = 0;
BPE.train([text], { vocabSize: 8192 });
for (let i = 0; i < 5; i++) {
  const [ms, tok] = time(() => BPE.train([text], { vocabSize: 8192, specialTokens: ['<|endoftext|>'] }));
  trainRuns.push(ms);
  vocabSize = tok.vocabSize;
}

const kilnRate = results[0].mbPerS;
console.log(`W7 tokenizers: ${textPath} (${megabytes.toFixed(2)} MB), node ${process.version}, ${cpus().length} cpus, load ${loadavg()[0].toFixed(2)}`);
console.log(`GPT-2 encode, median of ${RUNS} after ${WARMUP} warm-ups (cold = first call):`);
for (const r of results) {
  const ratio = (kilnRate / r.mbPerS).toFixed(2);
  console.log(`  ${r.name.padEnd(16)} ${r.mbPerS.toFixed(1).padStart(6)} MB/s  median ${r.medianMs.toFixed(0).padStart(5)} ms  cold ${r.coldMs.toFixed(0).padStart(5)} ms  kiln x${ratio}`);
}
console.log(`  ids identical across the three: ${identical ? 'yes' : 'NO'} (${reference.length} tokens)`);
console.log(`Byte-level BPE training, ${vocabSize} tokens: median ${(median(trainRuns) / 1000).toFixed(2)} s of ${trainRuns.length} (${trainRuns.map((ms) => (ms / 1000).toFixed(2)).join(', ')})`);

if (jsonOut) {
  const summary = {
    bench: 'W7',
    text: textPath,
    megabytes,
    encode: results.map(({ ids, ...r }) => r),
    idsIdentical: identical,
    trainSeconds: median(trainRuns) / 1000,
    trainVocabSize: vocabSize,
    load: loadavg()[0],
  };
  writeFileSync(jsonOut, `${JSON.stringify(summary, null, 2)}\n`);
}
if (!identical) process.exitCode = 1;
