// Preloaded into the GPT job by gpt.test.mjs (node --import): the Nth checkpoint write kills the
// process with SIGKILL half-way through writing the file, as a power cut or an OOM kill would.
// Nothing in the job knows about it: fs.promises.open is wrapped, and the builtin's ESM exports
// are re-synced so core's `import('node:fs/promises')` sees the wrapper.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const killAt = Number(process.env.KILN_KILL_AT_CHECKPOINT);
const open = fs.promises.open;
let checkpointWrites = 0;

fs.promises.open = async function openAndMaybeDie(path, ...rest) {
  const handle = await open.call(this, path, ...rest);
  // core writes a checkpoint to a temporary ".checkpoint.safetensors.<suffix>.tmp" first.
  if (/\.checkpoint\.safetensors\.[^/]*\.tmp$/.test(String(path)) && ++checkpointWrites === killAt) {
    const write = handle.write.bind(handle);
    let writes = 0;
    handle.write = async (...args) => {
      const result = await write(...args);
      // After the header and the first tensor: the temporary file is half written.
      if (++writes === 2) process.kill(process.pid, 'SIGKILL');
      return result;
    };
  }
  return handle;
};
syncBuiltinESMExports();
