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
