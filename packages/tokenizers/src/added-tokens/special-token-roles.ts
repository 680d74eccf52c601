/** The roles special tokens play; models and `encodeBatch` padding look them up by role. */
export type SpecialTokenRole = 'bos' | 'eos' | 'pad' | 'unk' | 'cls' | 'sep' | 'mask';
export type SpecialTokens = Partial<Record<SpecialTokenRole, string>>;

/** Usual spellings per role, used to infer roles from a vocabulary (tokenizer.json stores none). */
export const ROLE_SPELLINGS: Record<SpecialTokenRole, string[]> = {
  bos: ['<s>', '<|startoftext|>', '<|begin_of_text|>', '<bos>', '[BOS]', '<|endoftext|>'],
  eos: ['</s>', '<|endoftext|>', '<|end_of_text|>', '<eos>', '[EOS]'],
  pad: ['[PAD]', '<pad>', '<|pad|>', '<|padding|>'],
  unk: ['[UNK]', '<unk>', '<|unk|>'],
  cls: ['[CLS]', '<s>', '<cls>'],
  sep: ['[SEP]', '</s>', '<sep>'],
  mask: ['[MASK]', '<mask>', '<|mask|>'],
};
