// Where reader input comes from: bytes in memory, a file path (Node), or a URL (fetch).
import { importNode, isNode, type NodeFs } from './node.js';

/** Bytes, or where to get them: a path in Node, a URL (or URL string) anywhere fetch exists. */
export type ByteSource = Uint8Array | ArrayBuffer | string | URL;

/** A name for messages: the path or URL, or `<bytes>`. */
export function sourceName(source: ByteSource, name?: string): string {
  if (name) return name;
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  return '<bytes>';
}

function isUrlString(s: string): boolean {
  return /^(https?|blob|data|file):/i.test(s);
}

/** Reads all bytes of `source`. `reader` names the calling function in error messages. */
export async function readBytes(source: ByteSource, reader: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const fileUrl = source instanceof URL ? source.protocol === 'file:' : /^file:/i.test(source);
  if (isNode() && (fileUrl || (typeof source === 'string' && !isUrlString(source)))) {
    const fs = await importNode<NodeFs>('node:fs/promises');
    try {
      return new Uint8Array(
        await fs.readFile(source instanceof URL ? source : fileUrl ? new URL(source) : source),
      );
    } catch (e) {
      const code = (e as { code?: string }).code;
      const what =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : (e as Error).message;
      throw new Error(`${reader}: cannot read ${sourceName(source)}: ${what}`, { cause: e });
    }
  }
  if (typeof fetch !== 'function')
    throw new Error(`${reader}: cannot read ${sourceName(source)}: no file system and no fetch() here`);
  const response = await fetch(source);
  if (!response.ok)
    throw new Error(`${reader}: GET ${sourceName(source)} failed: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** UTF-8 text of `bytes`; invalid UTF-8 is an error naming the source. */
export function decodeUtf8(bytes: Uint8Array, reader: string, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new Error(`${reader}: ${name} is not valid UTF-8 text`, { cause: e });
  }
}
