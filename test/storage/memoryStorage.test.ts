import { MemoryStorage } from '../../src/storage/memoryStorage';
import { describeStorageConformance } from './conformance';

describeStorageConformance('MemoryStorage', () => ({
  create: async () => new MemoryStorage(),
  // A restart of a MemoryStorage sees its durable state: load() again on the same instance.
  restart: async (storage) => storage,
  injectFailure: (storage) => {
    (storage as MemoryStorage).failWith(new Error('EIO (injected)'));
    return () => undefined; // MemoryStorage's failure is permanent
  },
  cleanup: async () => undefined,
}));
