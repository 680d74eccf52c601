// The global generator: a Philox key from manualSeed and an offset that every draw advances by the
// number of values it takes, so draws never overlap and replay exactly after re-seeding.
const TWO_POW_32 = 2 ** 32;

let key: [number, number] = [0x853c49e6, 0x748fea9b];
let offset = 0;

export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`manualSeed: seed must be a non-negative safe integer (got ${seed})`);
  key = [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32) % TWO_POW_32];
  offset = 0;
}

/** Reserves `n` counters for one draw and returns the key and the first counter. */
export function nextDraw(n: number): { key: readonly [number, number]; offset: number } {
  const draw = { key: [key[0], key[1]] as const, offset };
  offset += n;
  return draw;
}

export interface GeneratorState {
  key: [number, number];
  offset: number;
}

/** The generator's state, for checkpoints (resumable training reproduces the same draws). */
export function getRngState(): GeneratorState {
  return { key: [key[0], key[1]], offset };
}

export function setRngState(state: GeneratorState): void {
  key = [state.key[0] >>> 0, state.key[1] >>> 0];
  offset = state.offset;
}
