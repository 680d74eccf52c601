// Device strings -> backend instances. Backends register a factory under their device type when
// their package is imported; initialisation may be asynchronous (WebGPU asks for an adapter), so
// `ready(device)` must resolve before the first op on such a device.
import type { Backend } from './kernels.js';

export type Device = string;

/** Creates the backend for one device index ('cuda:1' -> 1). */
export type BackendFactory = (index: number) => Backend | Promise<Backend>;

interface Registration {
  factory: BackendFactory;
  /** Number of devices of this type, where the backend can tell (cuda.deviceCount()). */
  deviceCount?: () => number;
}

const registrations = new Map<string, Registration>();
const instances = new Map<string, Backend>();
const pending = new Map<string, Promise<Backend>>();
let defaultDevice: Device = 'cpu';

/** 'cuda:0' and 'cuda' name the same device; the canonical spelling drops index 0. */
export function canonicalDevice(device: Device): Device {
  const [type, index] = parseDevice(device);
  return index === 0 ? type : `${type}:${index}`;
}

export function parseDevice(device: Device): [string, number] {
  const m = /^([a-z][a-z0-9_]*)(?::(\d+))?$/.exec(device);
  if (!m)
    throw new Error(`invalid device string '${device}' (expected e.g. 'cpu', 'webgpu', 'cuda', 'cuda:1')`);
  return [m[1], m[2] === undefined ? 0 : Number(m[2])];
}

export function registerBackend(
  type: string,
  factory: BackendFactory,
  options?: { deviceCount?: () => number },
): void {
  registrations.set(type, { factory, deviceCount: options?.deviceCount });
  for (const key of [...instances.keys()]) if (parseDevice(key)[0] === type) instances.delete(key);
}

export function isRegistered(type: string): boolean {
  return registrations.has(type);
}

/** Initialises a device's backend (a no-op when already ready). */
export async function ready(device: Device = defaultDevice): Promise<void> {
  const key = canonicalDevice(device);
  if (instances.has(key)) return;
  let p = pending.get(key);
  if (!p) {
    const [type, index] = parseDevice(key);
    const reg = registrations.get(type);
    if (!reg) throw new Error(noBackendMessage(key));
    p = Promise.resolve(reg.factory(index));
    pending.set(key, p);
  }
  try {
    instances.set(key, await p);
  } finally {
    pending.delete(key);
  }
}

/** The backend serving `device`; synchronous backends are created on first use. */
export function backendFor(device: Device): Backend {
  const key = canonicalDevice(device);
  const b = instances.get(key);
  if (b) return b;
  const [type, index] = parseDevice(key);
  const reg = registrations.get(type);
  if (!reg) throw new Error(noBackendMessage(key));
  const made = reg.factory(index);
  if (made instanceof Promise) {
    throw new Error(
      `device '${key}' is initialised asynchronously: call \`await k.ready('${key}')\` before using it`,
    );
  }
  instances.set(key, made);
  return made;
}

function noBackendMessage(device: Device): string {
  const type = parseDevice(device)[0];
  const known = [...registrations.keys()];
  return (
    `no backend registered for device '${device}' (registered: ${known.length ? known.join(', ') : 'none'}). ` +
    `Install and import its package, e.g. \`import '@kiln/backend-${type}'\``
  );
}

/** Devices whose backends are registered, with cuda expanded to its device count. */
export function devices(): Device[] {
  const out: Device[] = [];
  for (const [type, reg] of registrations) {
    const n = reg.deviceCount ? reg.deviceCount() : 1;
    for (let i = 0; i < n; i++) out.push(i === 0 ? type : `${type}:${i}`);
  }
  return out;
}

export function setDefaultDevice(device: Device): void {
  defaultDevice = canonicalDevice(device);
}

export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Live backend instances, for memory reports. */
export function liveBackends(): ReadonlyMap<string, Backend> {
  return instances;
}

export const cuda = {
  isAvailable(): boolean {
    const reg = registrations.get('cuda');
    return reg !== undefined && (reg.deviceCount ? reg.deviceCount() > 0 : true);
  },
  deviceCount(): number {
    const reg = registrations.get('cuda');
    if (!reg) return 0;
    return reg.deviceCount ? reg.deviceCount() : 1;
  },
};
