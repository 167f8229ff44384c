/**
 * The kinds of fault the simulator injects (`FaultClass`), and which of them a run gets
 * unless told otherwise.
 */

/** The kinds of fault the simulator injects. */
export type FaultClass =
  /** Message loss, duplication, reordering, delay and congested links (the network's "weather"). */
  | 'network'
  /** For a while, individual messages of some kinds (vote grants, acknowledgements), to or from some node, arrive 5–40 ms late. */
  | 'late-messages'
  /** The nodes split in two groups that cannot talk. */
  | 'partition'
  /** Some links work in one direction only: random ones, or chosen around the leader (it cannot hear, or cannot reach, some or all). */
  | 'one-way'
  /** Two halves that cannot talk, and one node that talks to both. */
  | 'bridge'
  /** One node cut off from every other. */
  | 'isolate'
  /** A node loses power (unsynced writes are lost) and restarts later, or at once; or the leader is stopped cleanly, handing over first. */
  | 'crash'
  /** A node freezes for a while, then goes on as if nothing happened. */
  | 'pause'
  /**
   * The leader hands leadership to another voter (TimeoutNow). Often the old leader hears
   * of its successor late: messages to it are held back, or, in a hand-over planned on a
   * quiet network, nothing reaches it for a while from the moment its TimeoutNow leaves.
   */
  | 'transfer'
  /** A voter (the leader, sometimes) is removed from the cluster, and later added back as a learner and promoted. */
  | 'membership'
  /**
   * A node's disk loses the last 1–3 log entries it had acknowledged (a damaged tail, cut
   * and reported at the next start), or its hard state (term and vote) beside the kept
   * log; the node crashes and restarts. One node at a time: Raft tolerates a minority
   * that loses data only if the rest keeps it.
   */
  | 'storage'
  /**
   * A node's disk hangs — no write completes, none fails — while its network works, so
   * it still answers heartbeats: one node (the leader half the time) or every follower of
   * the leader at once, for 0.1–2 s or until the faults end. The writes that waited then
   * complete in order; a crash meanwhile loses them, as any unsynced write.
   */
  | 'disk-stall'
  /**
   * For a moment the leader's AppendEntries carrying entries are lost while its
   * heartbeats and answers get through: to every follower for 20–150 ms (it appends, and
   * answers forwarded proposals, on a tail only it holds), after which it is cut off for
   * 0.3–1.5 s and a newer leader gives those indexes to other proposals; or to one
   * follower for 0.3–1.5 s, which falls behind the leader's compaction and catches up
   * through a snapshot that may cover proposals it forwarded.
   */
  | 'lost-entries'
  /**
   * For 0.3–3 s every snapshot chunk sent to one node (all of them, or all after chunk 0)
   * is lost, each loss reported to its sender, as by a transport that refuses the chunk:
   * a transfer to that node is given up after its resends and started over later. Not in
   * `ALL_FAULT_CLASSES`, so that the seeds of the default runs keep their schedules: ask
   * for it by name (`OPT_IN_FAULT_CLASSES`).
   */
  | 'chunk-loss';

/** The fault classes a simulation injects unless told otherwise. */
export const ALL_FAULT_CLASSES: readonly FaultClass[] = ['network', 'late-messages', 'partition', 'one-way', 'bridge', 'isolate', 'crash', 'pause', 'transfer', 'membership', 'storage', 'disk-stall', 'lost-entries'];

/** Fault classes injected only when named: added after the default set, they would change what every seed does. */
export const OPT_IN_FAULT_CLASSES: readonly FaultClass[] = ['chunk-loss'];
