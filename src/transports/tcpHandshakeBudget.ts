/** Limits on inbound connections that have not yet authenticated. */
export interface HandshakeLimits {
  /** Connections in their handshake at once, all sources together. */
  readonly total: number;
  /** Connections in their handshake at once from one remote IP address. */
  readonly perSource: number;
}

/**
 * How much a pending handshake is worth keeping, before anything is authenticated:
 *
 * - `peerSource`: it comes from the IP address of a configured peer.
 * - `progressed`: it sent a valid hello naming a peer this node accepts (a claim, not a
 *   proof, but an idle connection has not even made it).
 *
 * Rank = 2 × peerSource + progressed; lower ranks are evicted first.
 */
export interface PendingHandshake {
  readonly source: string;
  readonly peerSource: boolean;
  progressed: boolean;
  /** Closes the connection; called once when it is evicted. */
  readonly evict: () => void;
}

/** What `HandshakeBudget.admit` did with a newcomer. */
export type Admission =
  | { readonly admitted: true; readonly ticket: PendingHandshake; readonly evicted: readonly PendingHandshake[] }
  | { readonly admitted: false; readonly reason: string };

/**
 * A budget for inbound connections in their handshake (before authentication), per
 * remote IP and in total, so that connections that never authenticate cannot keep peers
 * out (issue 18, finding 4).
 *
 * When a newcomer finds its source's share or the whole budget full, the weakest pending
 * handshake makes room: lowest rank first (see `PendingHandshake`), and among equals the
 * oldest, so an attacker's idle connections are the ones that go, and a newcomer only
 * has to finish its handshake before as many newer connections arrive as the budget
 * holds. A newcomer ranked below everything pending (e.g. from a stranger's address when
 * every slot holds a peer's address) is refused instead.
 *
 * What it cannot do: before authentication a connection from a peer's own IP address
 * (or through the same NAT) is indistinguishable from the peer; such sources compete
 * among themselves on age alone.
 *
 * @example
 * const budget = new HandshakeBudget({ total: 64, perSource: 8 });
 * const admission = budget.admit({ source: '10.0.0.9', peerSource: false, progressed: false, evict: () => socket.destroy() });
 * if (!admission.admitted) socket.destroy();
 * // ... later, authenticated or closed:
 * budget.release(ticket);
 */
export class HandshakeBudget {
  /** Every pending handshake, oldest first (a Set keeps insertion order). */
  private readonly pending = new Set<PendingHandshake>();
  /** Invariant: bySource.get(s) holds exactly the pending handshakes from s, oldest first; no empty sets. */
  private readonly bySource = new Map<string, Set<PendingHandshake>>();
  /** Handshakes closed to make room for a newcomer. */
  evictions = 0;
  /** Newcomers turned away. */
  refusals = 0;

  constructor(readonly limits: HandshakeLimits) {}

  get size(): number {
    return this.pending.size;
  }

  /** Admits `candidate`, evicting (and releasing) the handshakes that make room for it, or refuses it. */
  admit(candidate: PendingHandshake): Admission {
    const victims: PendingHandshake[] = [];
    const fromSource = this.bySource.get(candidate.source);
    if (fromSource && fromSource.size >= this.limits.perSource) {
      const victim = weakest(fromSource, victims);
      if (!victim || rank(victim) > rank(candidate)) return this.refuse(`${this.limits.perSource} handshakes from ${candidate.source} already pending`);
      victims.push(victim);
    }
    if (this.pending.size - victims.length >= this.limits.total) {
      const victim = weakest(this.pending, victims);
      if (!victim || rank(victim) > rank(candidate)) return this.refuse(`${this.limits.total} handshakes pending, none ranked below this one`);
      victims.push(victim);
    }
    for (const victim of victims) this.release(victim);
    this.add(candidate);
    this.evictions += victims.length;
    for (const victim of victims) victim.evict();
    return { admitted: true, ticket: candidate, evicted: victims };
  }

  /** The handshake ended (authenticated, failed or closed). Idempotent. */
  release(ticket: PendingHandshake): void {
    if (!this.pending.delete(ticket)) return;
    const fromSource = this.bySource.get(ticket.source) as Set<PendingHandshake>;
    fromSource.delete(ticket);
    if (fromSource.size === 0) this.bySource.delete(ticket.source);
  }

  private add(ticket: PendingHandshake): void {
    this.pending.add(ticket);
    let fromSource = this.bySource.get(ticket.source);
    if (!fromSource) this.bySource.set(ticket.source, (fromSource = new Set()));
    fromSource.add(ticket);
  }

  private refuse(reason: string): Admission {
    this.refusals++;
    return { admitted: false, reason };
  }
}

function rank(handshake: PendingHandshake): number {
  return (handshake.peerSource ? 2 : 0) + (handshake.progressed ? 1 : 0);
}

/** The lowest-ranked handshake not in `except`, the oldest among equals. */
function weakest(handshakes: Iterable<PendingHandshake>, except: readonly PendingHandshake[]): PendingHandshake | undefined {
  let found: PendingHandshake | undefined;
  for (const handshake of handshakes) {
    if (except.includes(handshake)) continue;
    if (!found || rank(handshake) < rank(found)) found = handshake;
    if (rank(found) === 0) break;
  }
  return found;
}
