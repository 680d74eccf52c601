// The BERT models with heads, named as Hugging Face's classes and holding the encoder as `bert`,
// so that their parameter names are the checkpoints' ("bert.encoder.layer.0...", "cls.",
// "classifier."): BertForPreTraining (masked LM + next sentence prediction, the paper's
// pretraining; exported as BERT), BertForMaskedLM and BertForSequenceClassification.
import * as k from '@kiln/core';
import { F, nn } from '@kiln/nn';
import type { BertConfig, BertConfigInit } from './config.js';
import {
  type BertInputs,
  BertLMPredictionHead,
  BertModel,
  checkBertInputs,
  initBertWeights,
  shapeText,
} from './model.js';
import { BertPreTrainedModel } from './pretrained.js';

export interface BertPreTrainingInputs extends BertInputs {
  /** [B, T] masked-LM targets: the original id at masked positions, -100 elsewhere (ignored). */
  labels?: k.Tensor | null;
  /** [B]: 0 when sentence B follows A in the text, 1 when it is a random sentence (HF's convention). */
  nextSentenceLabel?: k.Tensor | null;
}

export interface BertPreTrainingOutput {
  /** [B, T, vocab_size] masked-LM logits (HF's prediction_logits). */
  logits: k.Tensor;
  /** [B, 2] next-sentence logits (HF's seq_relationship_logits). */
  nextSentenceLogits: k.Tensor;
  /** [B, T, hidden] */
  lastHiddenState: k.Tensor;
  /** [B, hidden] */
  poolerOutput: k.Tensor;
  /** Masked-LM loss plus next-sentence loss (the sum of those whose labels were given). */
  loss?: k.Tensor;
  mlmLoss?: k.Tensor;
  nspLoss?: k.Tensor;
}

export interface BertMaskedLMOutput {
  /** [B, T, vocab_size] */
  logits: k.Tensor;
  /** [B, T, hidden] */
  lastHiddenState: k.Tensor;
  loss?: k.Tensor;
}

export interface BertClassificationInputs extends BertInputs {
  /** [B] class indices (single-label), [B] or [B, 1] floats (regression, num_labels 1), or [B,
   * num_labels] 0/1 floats (multi-label). */
  labels?: k.Tensor | null;
}

export interface BertClassificationOutput {
  /** [B, num_labels] */
  logits: k.Tensor;
  /** [B, hidden] */
  poolerOutput: k.Tensor;
  loss?: k.Tensor;
}

/** HF's masked-LM loss: cross entropy over every position whose label is not -100. */
function maskedLMLoss(who: string, logits: k.Tensor, labels: k.Tensor): k.Tensor {
  const [b, t, v] = logits.shape;
  if (labels.ndim !== 2 || labels.shape[0] !== b || labels.shape[1] !== t)
    throw new Error(`${who}: labels must be [${b}, ${t}] like inputIds, got ${shapeText(labels)}`);
  return F.crossEntropy(logits.reshape(b * t, v), labels.reshape(b * t), { ignoreIndex: -100 });
}

/** cls.predictions (masked LM) and cls.seq_relationship (next sentence): HF's BertPreTrainingHeads. */
export class BertPreTrainingHeads extends nn.Module {
  predictions: BertLMPredictionHead;
  seq_relationship: nn.Linear;

  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
    this.seq_relationship = new nn.Linear(config.hidden_size, 2);
  }
}

/** cls.predictions alone: HF's BertOnlyMLMHead. */
export class BertOnlyMLMHead extends nn.Module {
  predictions: BertLMPredictionHead;

  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
  }
}

/**
 * BERT with the paper's two pretraining heads (HF's BertForPreTraining): masked-LM logits over the
 * vocabulary, decoded with the word embeddings (tied), and next-sentence logits from the pooler.
 */
export class BertForPreTraining extends BertPreTrainedModel {
  readonly architecture = 'BertForPreTraining';
  bert: BertModel;
  cls: BertPreTrainingHeads;

  /** `init: false` skips HF's initialisation (for weights about to be loaded). */
  constructor(config: BertConfig | BertConfigInit = {}, options: { init?: boolean } = {}) {
    super(config);
    this.bert = new BertModel(this.config, { init: false });
    this.cls = new BertPreTrainingHeads(this.config);
    if (options.init !== false) this.initWeights();
  }

  initWeights(root: nn.Module = this): void {
    initBertWeights(root, this.config);
  }

  override forward(inputIds: k.Tensor, inputs: BertPreTrainingInputs = {}): BertPreTrainingOutput {
    const who = 'BertForPreTraining.forward';
    checkBertInputs(who, this.config, inputIds, inputs);
    const { lastHiddenState, poolerOutput } = this.bert.forward(inputIds, inputs);
    const pooled = poolerOutput as k.Tensor;
    const logits = this.cls.predictions.forward(lastHiddenState, this.bert.embeddings.word_embeddings.weight);
    const nextSentenceLogits = this.cls.seq_relationship.forward(pooled);
    const out: BertPreTrainingOutput = { logits, nextSentenceLogits, lastHiddenState, poolerOutput: pooled };
    if (inputs.labels) out.mlmLoss = maskedLMLoss(who, logits, inputs.labels);
    const nsl = inputs.nextSentenceLabel ?? null;
    if (nsl) {
      const b = inputIds.shape[0];
      if (nsl.numel() !== b)
        throw new Error(
          `${who}: nextSentenceLabel must hold one label per row ([${b}]), got ${shapeText(nsl)}`,
        );
      out.nspLoss = F.crossEntropy(nextSentenceLogits, nsl.reshape(b));
    }
    if (out.mlmLoss && out.nspLoss) out.loss = out.mlmLoss.add(out.nspLoss);
    else if (out.mlmLoss || out.nspLoss) out.loss = out.mlmLoss ?? out.nspLoss;
    return out;
  }
}

/** The paper's pretraining model under the name the API uses: `await BERT.fromPretrained(dir)`. */
export const BERT = BertForPreTraining;
export type BERT = BertForPreTraining;

/** BERT with the masked-LM head only and no pooler (HF's BertForMaskedLM). */
export class BertForMaskedLM extends BertPreTrainedModel {
  readonly architecture = 'BertForMaskedLM';
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(config: BertConfig | BertConfigInit = {}, options: { init?: boolean } = {}) {
    super(config);
    this.bert = new BertModel(this.config, { init: false, addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(this.config);
    if (options.init !== false) this.initWeights();
  }

  initWeights(root: nn.Module = this): void {
    initBertWeights(root, this.config);
  }

  override forward(inputIds: k.Tensor, inputs: BertPreTrainingInputs = {}): BertMaskedLMOutput {
    const who = 'BertForMaskedLM.forward';
    checkBertInputs(who, this.config, inputIds, inputs);
    const { lastHiddenState } = this.bert.forward(inputIds, inputs);
    const logits = this.cls.predictions.forward(lastHiddenState, this.bert.embeddings.word_embeddings.weight);
    const out: BertMaskedLMOutput = { logits, lastHiddenState };
    if (inputs.labels) out.loss = maskedLMLoss(who, logits, inputs.labels);
    return out;
  }
}

/**
 * BERT for fine-tuning on sentence (pair) classification (HF's BertForSequenceClassification):
 * dropout and a linear classifier over the pooled [CLS] output; num_labels from config.id2label.
 * The loss follows HF's problem_type: regression (num_labels 1, MSE), single-label (integer labels,
 * cross entropy) or multi-label (float labels, BCE with logits).
 */
export class BertForSequenceClassification extends BertPreTrainedModel {
  readonly architecture = 'BertForSequenceClassification';
  bert: BertModel;
  dropout: nn.Dropout;
  classifier: nn.Linear;

  constructor(config: BertConfig | BertConfigInit = {}, options: { init?: boolean } = {}) {
    super(config);
    const c = this.config;
    this.bert = new BertModel(c, { init: false });
    this.dropout = new nn.Dropout(c.classifier_dropout ?? c.hidden_dropout_prob);
    this.classifier = new nn.Linear(c.hidden_size, c.numLabels);
    if (options.init !== false) this.initWeights();
  }

  initWeights(root: nn.Module = this): void {
    initBertWeights(root, this.config);
  }

  override forward(inputIds: k.Tensor, inputs: BertClassificationInputs = {}): BertClassificationOutput {
    const who = 'BertForSequenceClassification.forward';
    checkBertInputs(who, this.config, inputIds, inputs);
    const pooled = this.bert.forward(inputIds, inputs).poolerOutput as k.Tensor;
    const logits = this.classifier.forward(this.dropout.forward(pooled));
    const out: BertClassificationOutput = { logits, poolerOutput: pooled };
    if (inputs.labels) out.loss = this.classificationLoss(who, logits, inputs.labels);
    return out;
  }

  private classificationLoss(who: string, logits: k.Tensor, labels: k.Tensor): k.Tensor {
    const [b, n] = logits.shape;
    const integer = !k.isFloating(labels.dtype) && labels.dtype !== 'bool';
    // HF infers problem_type the same way when the config does not name it.
    const problem =
      this.config.problem_type ??
      (n === 1 ? 'regression' : integer ? 'single_label_classification' : 'multi_label_classification');
    if (problem === 'regression') {
      if (labels.numel() !== b * n)
        throw new Error(`${who}: regression labels must be [${b}] or [${b}, ${n}], got ${shapeText(labels)}`);
      return F.mseLoss(logits.reshape(-1), labels.to(logits.dtype).reshape(-1));
    }
    if (problem === 'single_label_classification') {
      if (!integer || labels.numel() !== b)
        throw new Error(
          `${who}: single-label classification needs integer labels [${b}], got ${labels.dtype} ${shapeText(labels)}`,
        );
      return F.crossEntropy(logits, labels.reshape(b));
    }
    if (labels.ndim !== 2 || labels.shape[0] !== b || labels.shape[1] !== n)
      throw new Error(
        `${who}: multi-label classification needs labels [${b}, ${n}], got ${shapeText(labels)}`,
      );
    return F.binaryCrossEntropyWithLogits(logits, labels.to(logits.dtype));
  }
}
