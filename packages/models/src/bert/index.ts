// Filled in by the bert work (issue 7/8).
export {};
