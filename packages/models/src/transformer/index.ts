// Filled in by the transformer work (issue 7/8).
export {};
