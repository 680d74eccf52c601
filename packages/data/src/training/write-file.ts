// Atomic file replacement for Node: write a temporary file beside the target, fsync, rename over
// the target (atomic on POSIX file systems and NTFS). A reader sees the old file or the new one,
// never a half-written one, and a failed write leaves the old file and no temporary behind.
import { importNode, isNode, type NodeFs, type NodePath } from '../io/node.js';

export async function writeFileAtomic(
  path: string,
  contents: string | Uint8Array,
  writer: string,
): Promise<void> {
  if (!isNode()) throw new Error(`${writer}: writing files needs Node (elsewhere, use the returned string)`);
  const fs = await importNode<NodeFs>('node:fs/promises');
  const nodePath = await importNode<NodePath>('node:path');
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  const temp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${suffix}.tmp`);
  let renamed = false;
  try {
    const file = await fs.open(temp, 'wx');
    try {
      await file.writeFile(contents);
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temp, path);
    renamed = true;
  } catch (e) {
    throw new Error(`${writer}: cannot write ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (!renamed) await fs.rm(temp, { force: true }).catch(() => undefined);
  }
}
