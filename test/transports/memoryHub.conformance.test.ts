import { asyncScheduler } from 'rxjs';
import { MemoryHub } from '../../src/transports/memoryHub';
import type { Transport } from '../../src/transports/transport';
import { describeTransportConformance } from './conformance';

describeTransportConformance('MemoryHub', () => {
  const hub = new MemoryHub({ scheduler: asyncScheduler });
  const opened: Transport[] = [];
  return {
    open: async (id) => {
      const transport = hub.connect(id);
      opened.push(transport);
      return transport;
    },
    dispose: async () => {
      await Promise.all(opened.map((t) => t.close()));
    },
  };
});
