// gunzip for readers: node:zlib in Node, DecompressionStream('gzip') elsewhere (browsers, Deno).
import { importNode, isNode, type NodeZlib } from './node.js';

/** A gzip stream starts with the magic bytes 1f 8b (RFC 1952, section 2.3.1). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function corrupt(name: string, detail: string, cause: unknown): Error {
  return new Error(`${name}: gzip data is corrupt or truncated (${detail})`, { cause });
}

export async function gunzipWithZlib(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  const zlib = await importNode<NodeZlib>('node:zlib');
  return new Promise((resolve, reject) => {
    zlib.gunzip(bytes, (error, out) => {
      if (error) reject(corrupt(name, error.message, error));
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}

export async function gunzipWithStreams(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') {
    throw new Error(
      `${name}: cannot decompress gzip here (no DecompressionStream); pass the uncompressed bytes`,
    );
  }
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw corrupt(name, (e as Error).message, e);
  }
}

/** Decompresses a gzip stream. `name` (a path, or the reader) prefixes error messages. */
export function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  return isNode() ? gunzipWithZlib(bytes, name) : gunzipWithStreams(bytes, name);
}

/** The bytes, gunzipped when they are a gzip stream. */
export function maybeGunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  return isGzip(bytes) ? gunzip(bytes, name) : Promise.resolve(bytes);
}
