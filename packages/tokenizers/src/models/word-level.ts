import type { JsonObject } from '../io/json.js';
import { invertVocab, type Model, type ModelToken, vocabToJSON } from './model.js';

/** HF's `WordLevel` model: each word is one id, unknown words the unknown token. */
export class WordLevelModel implements Model {
  readonly type = 'WordLevel';
  private readonly idToTokenTable: string[];

  constructor(
    readonly vocab: Map<string, number>,
    readonly unkToken: string = '<unk>',
  ) {
    this.idToTokenTable = invertVocab(vocab);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  tokenize(word: string): ModelToken[] {
    const id = this.vocab.get(word);
    if (id !== undefined) return [{ id, value: word, start: 0, end: word.length }];
    const unk = this.vocab.get(this.unkToken);
    if (unk === undefined) {
      throw new Error(
        `WordLevel: "${word}" is not in the vocabulary and unk_token "${this.unkToken}" is missing too`,
      );
    }
    return [{ id: unk, value: this.unkToken, start: 0, end: word.length }];
  }

  toJSON(): JsonObject {
    return { type: 'WordLevel', vocab: vocabToJSON(this.vocab), unk_token: this.unkToken };
  }
}
