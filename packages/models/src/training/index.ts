export type { CheckpointContents, CheckpointParts, JsonValue } from './checkpoint.js';
export { loadCheckpoint, readCheckpointInfo, saveCheckpoint } from './checkpoint.js';
export type { WarmupCosineOptions } from './schedule.js';
export { warmupCosine } from './schedule.js';
export type { FitResult, StepRecord, TrainerOptions, TrainingHistory } from './trainer.js';
export { Trainer } from './trainer.js';
