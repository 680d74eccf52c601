// Crash-safe file replacement: write a temporary file in the target's directory, fsync it, rename
// it over the target (atomic on POSIX file systems and on NTFS), then fsync the directory so the
// rename itself is durable. A reader sees the old complete file or the new one, never a mixture,
// and a failure at any step leaves the old file alone and removes the temporary.
//
// Node built-ins are imported lazily through specifiers that bundlers do not follow, so a browser
// bundle of @kiln/core holds no Node module; they are needed only when a caller passes a path.
import type { FileHandle } from 'node:fs/promises';

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

async function importNode<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

export function loadFs(): Promise<FsPromises> {
  return importNode<FsPromises>('node:fs/promises');
}

/** Writes all of `bytes` at `position`: a single write may be short. */
export async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Replaces the file at `path` with what `fill` writes into a fresh temporary file. A symlink at
 * `path` is followed (its target is replaced, the link stays), and an existing file's permissions
 * are kept.
 */
export async function writeFileAtomic(
  path: string,
  fill: (file: FileHandle) => Promise<void>,
): Promise<void> {
  const fs = await loadFs();
  const nodePath = await importNode<NodePath>('node:path');
  const target = await fs.realpath(path).catch(() => path);
  const mode = await fs.stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  const dir = nodePath.dirname(target);
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  const temp = nodePath.join(dir, `.${nodePath.basename(target)}.${suffix}.tmp`);

  const file = await fs.open(temp, 'wx');
  let open = true;
  let renamed = false;
  try {
    if (mode !== undefined) await file.chmod(mode);
    await fill(file);
    await file.sync();
    open = false;
    await file.close();
    await fs.rename(temp, target);
    renamed = true;
  } finally {
    if (!renamed) {
      if (open) await file.close().catch(() => undefined);
      await fs.rm(temp, { force: true }).catch(() => undefined);
    }
  }
  await syncDirectory(fs, dir);
}

/** Makes a rename durable. Best effort: some platforms (Windows) cannot open or fsync a directory. */
async function syncDirectory(fs: FsPromises, dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability of the rename is not guaranteed here; atomicity still is.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
