/**
 * Tokenizer files can be given as a path (Node) or as their contents (string or bytes), so the same
 * calls work in browsers. `node:fs` is imported lazily: a browser bundle never pulls a Node built-in.
 */
export type FileSource = string | Uint8Array;

/** A loaded file: its text and a name to put in error messages. */
export interface SourceText {
  readonly text: string;
  readonly name: string;
}

const utf8 = new TextDecoder('utf-8');

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

/**
 * Imports a Node built-in at call time. The specifier is a variable so that browser bundlers
 * (esbuild, Vite, webpack) leave it alone instead of failing to resolve it.
 */
async function nodeBuiltin<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as T;
}

/**
 * A string is taken as contents when it cannot be a path: it holds a newline, or starts like JSON.
 * Anything else is read from disk.
 */
function looksLikeContents(source: string, contentHint: RegExp): boolean {
  return source.includes('\n') || contentHint.test(source);
}

export async function readSource(source: FileSource, contentHint: RegExp): Promise<SourceText> {
  if (source instanceof Uint8Array) return { text: utf8.decode(source), name: '<inline>' };
  if (looksLikeContents(source, contentHint)) return { text: source, name: '<inline>' };
  const fs = await nodeBuiltin<FsPromises>('node:fs/promises');
  try {
    return { text: await fs.readFile(source, 'utf8'), name: source };
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(`cannot read tokenizer file ${source}${code ? ` (${code})` : ''}`);
  }
}

/** Writes files into a directory (created if missing). Node only. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  const fs = await nodeBuiltin<FsPromises>('node:fs/promises');
  const path = await nodeBuiltin<NodePath>('node:path');
  await fs.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    // Write then rename, so a crash never leaves a half-written tokenizer behind.
    const target = path.join(dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    await fs.writeFile(tmp, text, 'utf8');
    await fs.rename(tmp, target);
  }
}
