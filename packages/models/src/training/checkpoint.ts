// Training checkpoints: everything a run needs to continue exactly where it stopped (model
// parameters and buffers, optimizer state, lr scheduler, core's RNG stream, the step, and the
// trainer's own record), in ONE safetensors file. One file makes the write atomic: core's
// saveSafetensors writes a temporary file beside the target, fsyncs it and renames it over the
// old one, so a crash or a kill at any moment leaves the previous checkpoint complete and
// readable (at worst with a stray temporary file next to it).
//
// Layout: tensors "model.<state-dict key>" and "optimizer.<param index>.<state key>" (the
// optimizer's own indexing, as torch's state_dict uses); the "kiln.checkpoint" metadata entry is
// JSON with the step, the optimizer's hyperparameter groups and numeric state, the scheduler's
// state, the RNG state and caller data.
import * as k from '@kiln/core';
import type { nn, optim } from '@kiln/nn';

type Optimizer = optim.Optimizer<{ lr: number }>;
type Scheduler = optim.lrScheduler.LRScheduler;

const METADATA_KEY = 'kiln.checkpoint';
const FORMAT = 1;

/** JSON-compatible values, for the caller's part of a checkpoint. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CheckpointParts {
  model: nn.Module;
  optimizer?: Optimizer;
  scheduler?: Scheduler;
}

export interface CheckpointContents {
  /** Optimizer steps taken. */
  step: number;
  /** core's RNG state when the checkpoint was taken (dropout and sampling draw from it). */
  rng: k.GeneratorState;
  /** Whatever else the caller stores (a trainer's loss history, a model config, ...). */
  extra: JsonValue;
}

interface Header {
  format: number;
  step: number;
  rng: k.GeneratorState;
  optimizer: {
    paramGroups: Record<string, unknown>[];
    scalars: Record<string, Record<string, number>>;
  } | null;
  scheduler: optim.lrScheduler.SchedulerStateDict | null;
  extra: JsonValue;
}

/** Writes a checkpoint to `path`, atomically (the previous file survives any failure). */
export async function saveCheckpoint(
  path: string,
  parts: CheckpointParts,
  contents: { step: number; extra?: JsonValue; rng?: k.GeneratorState },
): Promise<void> {
  const tensors: Record<string, k.Tensor> = {};
  for (const [key, t] of Object.entries(parts.model.stateDict())) tensors[`model.${key}`] = t;
  let optimizer: Header['optimizer'] = null;
  if (parts.optimizer) {
    const sd = parts.optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [index, state] of Object.entries(sd.state)) {
      for (const [key, v] of Object.entries(state)) {
        if (k.isTensor(v)) tensors[`optimizer.${index}.${key}`] = v;
        else scalars[index] = { ...scalars[index], [key]: v };
      }
    }
    optimizer = { paramGroups: sd.paramGroups, scalars };
  }
  const header: Header = {
    format: FORMAT,
    step: contents.step,
    rng: contents.rng ?? k.getRngState(),
    optimizer,
    scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
    extra: contents.extra ?? null,
  };
  await k.saveSafetensors(path, tensors, { [METADATA_KEY]: JSON.stringify(header) });
}

function parseHeader(path: string, metadata: Record<string, string> | undefined): Header {
  const raw = metadata?.[METADATA_KEY];
  if (raw === undefined)
    throw new Error(
      `loadCheckpoint: ${path} is a safetensors file but not a Kiln checkpoint (no "${METADATA_KEY}" metadata)`,
    );
  const header = JSON.parse(raw) as Header;
  if (header.format !== FORMAT)
    throw new Error(
      `loadCheckpoint: ${path} has checkpoint format ${header.format}; this version reads format ${FORMAT}`,
    );
  return header;
}

/**
 * Restores `parts` from a checkpoint written by saveCheckpoint (tensors land on the model's
 * device) and returns the step, RNG state and caller data. Core's RNG is NOT reset here: call
 * k.setRngState(contents.rng) when the run continues, so reading a checkpoint has no side effect
 * on sampling elsewhere.
 */
export async function loadCheckpoint(path: string, parts: CheckpointParts): Promise<CheckpointContents> {
  const fs = await import('node:fs/promises');
  const bytes = new Uint8Array(await fs.readFile(path));
  const header = parseHeader(path, k.parseSafetensors(bytes, path).metadata);
  const device = parts.model.parameters().next().value?.device;
  const tensors = await k.loadSafetensors(bytes, { device });
  try {
    const model: Record<string, k.Tensor> = {};
    const optimizerState: Record<number, Record<string, k.Tensor | number>> = {};
    for (const [key, t] of Object.entries(tensors)) {
      if (key.startsWith('model.')) model[key.slice('model.'.length)] = t;
      else {
        const match = /^optimizer\.(\d+)\.(.+)$/.exec(key);
        if (!match) throw new Error(`loadCheckpoint: ${path} has an unexpected tensor "${key}"`);
        optimizerState[Number(match[1])] = { ...optimizerState[Number(match[1])], [match[2]]: t };
      }
    }
    parts.model.loadStateDict(model);
    if (parts.optimizer) {
      if (!header.optimizer) throw new Error(`loadCheckpoint: ${path} holds no optimizer state`);
      for (const [index, scalars] of Object.entries(header.optimizer.scalars))
        optimizerState[Number(index)] = { ...optimizerState[Number(index)], ...scalars };
      parts.optimizer.loadStateDict({ state: optimizerState, paramGroups: header.optimizer.paramGroups });
    }
    if (parts.scheduler) {
      if (!header.scheduler) throw new Error(`loadCheckpoint: ${path} holds no lr scheduler state`);
      parts.scheduler.loadStateDict(header.scheduler);
    }
  } finally {
    // Every consumer above copies what it keeps (loadStateDict copies into parameters, the
    // optimizer copies its state onto each parameter's device).
    for (const t of Object.values(tensors)) t.dispose();
  }
  return { step: header.step, rng: header.rng, extra: header.extra };
}

/**
 * The step and caller data of a checkpoint, read from its header alone (no tensors): what a
 * program needs to rebuild the model (its config) before calling loadCheckpoint.
 */
export async function readCheckpointInfo(path: string): Promise<{ step: number; extra: JsonValue }> {
  const fs = await import('node:fs/promises');
  const file = await fs.open(path, 'r');
  try {
    const prefix = new Uint8Array(8);
    await file.read(prefix, 0, 8, 0);
    const view = new DataView(prefix.buffer);
    const length = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
    const { size } = await file.stat();
    if (!(length > 0 && 8 + length <= size))
      throw new Error(
        `readCheckpointInfo: ${path} is not a safetensors file (header length ${length}, file ${size} bytes)`,
      );
    const header = new Uint8Array(8 + length);
    header.set(prefix);
    await file.read(header, 8, length, 8);
    const json = JSON.parse(new TextDecoder().decode(header.subarray(8))) as {
      __metadata__?: Record<string, string>;
    };
    const parsed = parseHeader(path, json.__metadata__);
    return { step: parsed.step, extra: parsed.extra };
  } finally {
    await file.close();
  }
}
