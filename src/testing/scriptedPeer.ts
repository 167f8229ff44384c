import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { MemoryHub } from '../transports/memoryHub';
import type { Transport } from '../transports/transport';

/**
 * A member of a `TestCluster` played by the test instead of an rxraft node: it sends
 * whatever messages the test writes (a vote request with a chosen log, a heartbeat of an
 * old term) and keeps what the nodes send it. Its messages go through the hub like any
 * other: scheduled, never delivered synchronously, subject to cut links and rules.
 *
 * @example
 * const cluster = TestCluster.fromLogs({ n1: { term: 1 } }, { scripted: ['n2'] });
 * const n2 = cluster.peer('n2');
 * n2.send('n1', { type: 'RequestVote', term: 2, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 0 });
 * await cluster.clock.advance(5);
 * n2.take((e) => e.message.type === 'RequestVoteResponse'); // n1's answer
 */
export class ScriptedPeer {
  private readonly inbox: Envelope[] = [];
  private readonly transport: Transport;
  /** Messages lost because the inbox was full (more than `limit` untaken). */
  overflowed = 0;

  constructor(readonly id: NodeId, hub: MemoryHub, private readonly limit = 10_000) {
    this.transport = hub.connect(id);
    this.transport.inbound$.subscribe((e) => {
      if (this.inbox.length < this.limit) this.inbox.push(e);
      else this.overflowed++;
    });
  }

  /** What the nodes sent this peer and the test has not taken yet, oldest first. */
  get received(): readonly Envelope[] {
    return this.inbox;
  }

  /** Sends `message` to `to` through the hub. */
  send(to: NodeId, message: RaftMessage): void {
    this.transport.send(to, message);
  }

  /** Removes and returns the received messages `which` selects (default all), oldest first. */
  take(which: (envelope: Envelope) => boolean = () => true): Envelope[] {
    const taken: Envelope[] = [];
    const kept: Envelope[] = [];
    for (const e of this.inbox) (which(e) ? taken : kept).push(e);
    this.inbox.splice(0, this.inbox.length, ...kept);
    return taken;
  }

  /** Detaches the peer from the hub. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
