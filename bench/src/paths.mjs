// Where things are, from this package's folder.
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Compiled limit probes and the extracted OpenBLAS live here (gitignored). */
export const CACHE_DIR = fileURLToPath(new URL('../.cache/', import.meta.url));
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const PEERS_DIR = fileURLToPath(new URL('../peers/', import.meta.url));
