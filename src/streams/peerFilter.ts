import { Observable } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { UnknownPeerError } from '../errors';
import type { ConfigAt } from '../messages/config';
import { members } from '../messages/config';
import type { NodeId, RaftMessage } from '../messages/types';

/**
 * Which peers a node takes messages from. The transport authenticates peers; on top of
 * that a node takes requests and votes only from members of a configuration in its log.
 * A leader's messages (AppendEntries, InstallSnapshot, TimeoutNow) are taken from anyone:
 * a node whose log predates the change that added its new leader must still hear it to
 * catch up (Raft servers process RPCs without consulting their configuration,
 * dissertation §4.1); the term rules decide. So is a TermQuery: answering it changes
 * nothing, and a removed node recovering its hard state still needs the answer. A node not in its own latest configuration
 * (a joining learner) takes messages from anyone.
 *
 * The member set is recomputed only when the configurations change.
 *
 * @example
 * const filter = new PeerFilter('n1');
 * filter.accepts('n9', 'RequestVote', state.configs); // false unless n9 is in a configuration
 */
export class PeerFilter {
  private cache: { configs: readonly ConfigAt[]; key: string; known: ReadonlySet<NodeId> | 'anyone' } | null = null;

  constructor(private readonly self: NodeId) {}

  accepts(from: NodeId, type: RaftMessage['type'], configs: readonly ConfigAt[]): boolean {
    if (type === 'AppendEntries' || type === 'InstallSnapshot' || type === 'TimeoutNow' || type === 'TermQuery') return true;
    const known = this.knownPeers(configs);
    return known === 'anyone' || known.has(from);
  }

  private knownPeers(configs: readonly ConfigAt[]): ReadonlySet<NodeId> | 'anyone' {
    const key = `${configs.length}:${configs[0].index}:${configs[configs.length - 1].index}`;
    if (this.cache?.configs !== configs || this.cache.key !== key) {
      const known = new Set(configs.flatMap(({ config }) => members(config)));
      const self = members(configs[configs.length - 1].config).includes(this.self);
      this.cache = { configs, key, known: self ? known : 'anyone' };
    }
    return this.cache.known;
  }
}

/**
 * The inbound messages a node takes, as events (see `PeerFilter`); a message from a peer
 * it does not take messages from is dropped and reported as `UnknownPeerError`. An event
 * that `taken` takes (a response routed to a role pipeline, `RoleSwitch.take`) is not
 * emitted.
 *
 * @example
 * acceptedMessages(transport.inbound$, new PeerFilter('n1'), () => state.configs, (e) => errors.next(e), (e) => roles.take(e)).subscribe(dispatch);
 */
export function acceptedMessages(
  inbound$: Observable<{ readonly from: NodeId; readonly message: RaftMessage }>,
  filter: PeerFilter,
  configs: () => readonly ConfigAt[],
  rejected: (error: UnknownPeerError) => void,
  taken: (event: RaftEvent) => boolean = () => false,
): Observable<RaftEvent> {
  return new Observable<RaftEvent>((subscriber) =>
    inbound$.subscribe(({ from, message }) => {
      if (!filter.accepts(from, message.type, configs())) return rejected(new UnknownPeerError(from));
      const event: RaftEvent = { kind: 'message', from, message };
      if (!taken(event)) subscriber.next(event);
    }),
  );
}
