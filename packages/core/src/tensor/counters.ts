// Live tensor / storage / byte counts per device, reported by `memory()`.
export interface DeviceMemory {
  tensors: number;
  storages: number;
  bytes: number;
}

export interface MemoryInfo extends DeviceMemory {
  byDevice: Record<string, DeviceMemory>;
}

const byDevice = new Map<string, DeviceMemory>();

function entry(device: string): DeviceMemory {
  let e = byDevice.get(device);
  if (!e) {
    e = { tensors: 0, storages: 0, bytes: 0 };
    byDevice.set(device, e);
  }
  return e;
}

export const memoryCounters = {
  storageCreated(device: string, bytes: number): void {
    const e = entry(device);
    e.storages++;
    e.bytes += bytes;
  },
  storageFreed(device: string, bytes: number): void {
    const e = entry(device);
    e.storages--;
    e.bytes -= bytes;
  },
  tensorCreated(device: string): void {
    entry(device).tensors++;
  },
  tensorFreed(device: string): void {
    entry(device).tensors--;
  },
};

/** Live tensors, storages and bytes, in total and per device. */
export function memory(): MemoryInfo {
  const out: MemoryInfo = { tensors: 0, storages: 0, bytes: 0, byDevice: {} };
  for (const [device, e] of byDevice) {
    out.byDevice[device] = { ...e };
    out.tensors += e.tensors;
    out.storages += e.storages;
    out.bytes += e.bytes;
  }
  return out;
}
