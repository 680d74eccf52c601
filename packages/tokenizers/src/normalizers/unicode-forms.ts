import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from './normalized-string.js';
import type { Normalizer } from './normalizer.js';

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/** Unicode normalization forms (HF `NFC`, `NFD`, `NFKC`, `NFKD`). */
export class UnicodeNormalizer implements Normalizer {
  constructor(readonly form: UnicodeForm) {}

  normalize(ns: NormalizedString): void {
    // ASCII is invariant under every form: skip the per-cluster work.
    if (!/[\u0080-\uffff]/.test(ns.normalized)) return;
    const form = this.form;
    ns.mapClusters((cluster) => cluster.normalize(form));
  }

  toJSON(): JsonObject {
    return { type: this.form };
  }
}
