import { map } from 'rxjs';
import { encodeEntries } from '../messages/entryCodec';
import { readEntryRun } from '../messages/entryRun';
import { ReceivedAppendEntries } from '../messages/receivedAppendEntries';
import type { AppendEntries, Envelope } from '../messages/types';
import type { Transport } from '../transports/transport';

/**
 * Delivers every AppendEntries that carries entries as the TCP transport does: its
 * entries laid out as a block and read back as a run (`ReceivedAppendEntries`), so that
 * the follower's rules take the path of entries received over the wire (no object per
 * entry) under the simulator's faults, not only the path of entry lists an in-memory
 * transport hands over. Everything else passes unchanged.
 *
 * @example
 * const cluster = new TestCluster({ nodes: 3, seed: 1, transport: (id, t) => entryRunDelivery(t) });
 */
export function entryRunDelivery(inner: Transport): Transport {
  return {
    inbound$: inner.inbound$.pipe(map(asReceived)),
    errors$: inner.errors$,
    lost$: inner.lost$,
    send: (to, message) => inner.send(to, message),
    close: () => inner.close(),
    updatePeers: inner.updatePeers === undefined ? undefined : (addresses) => inner.updatePeers!(addresses),
  };
}

function asReceived(envelope: Envelope): Envelope {
  const m = envelope.message;
  if (m.type !== 'AppendEntries' || m.entries.length === 0) return envelope;
  return { ...envelope, message: receivedOverWire(m) };
}

/**
 * An AppendEntries with entries as the TCP transport delivers it: its entries a run of
 * their encoded block, made only when read.
 *
 * @example
 * entryRunOf(receivedOverWire(m))?.length === m.entries.length; // true
 */
export function receivedOverWire(m: AppendEntries): AppendEntries {
  const { entries, ...fields } = m;
  return new ReceivedAppendEntries(fields, readEntryRun(encodeEntries(entries), fields));
}
