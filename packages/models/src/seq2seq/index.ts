// Filled in by the seq2seq work (issue 7/8).
export {};
