import type { Entry } from '../messages/entry';

/** A snapshot transfer to one follower (`Progress.snapshot`, rules in `core/snapshots.ts`). */
export interface SnapshotTransfer {
  /** The snapshot sent (the leader's current one when the transfer started). */
  index: number;
  term: number;
  /** The chunk awaited: sent, not yet acknowledged. */
  chunk: number;
  /** Heartbeat ticks since the transfer started or a chunk was acknowledged. */
  stalledTicks: number;
  /**
   * Times the awaited chunk was sent again with no chunk acknowledged since it was first
   * sent (`resendAwaitedChunk`). Invariant: at most `SNAPSHOT_CHUNK_RESENDS`.
   */
  resends: number;
  /** A read failed right after the transfer started over: start over at the next tick. */
  retryAtTick?: boolean;
  /** The transport reported messages to the follower lost (`messagesLost`): send the awaited chunk again at the next tick. */
  resendAtTick?: boolean;
  /**
   * The follower answered nothing for a while (or since its last probe), or the transfer
   * was given up (`abandoned`): nothing is read or sent for this transfer until the
   * follower answers, which starts it over.
   */
  parked: boolean;
  /**
   * Parked because the awaited chunk went unacknowledged through every resend
   * (`abandonTransfer`): the follower answers, but this transfer cannot complete now. It
   * starts over at an answer only once `holdTicks` heartbeat ticks have passed.
   */
  abandoned?: boolean;
  /** Heartbeat ticks before an answer may start a given-up transfer over (0 otherwise). */
  holdTicks: number;
}

/**
 * The leader's view of one follower's log (etcd calls it Progress). Exists only while
 * its node leads.
 *
 * - probing: the leader does not yet know where the follower's log matches; it sends
 *   one AppendEntries at a time and waits for the answer.
 * - replicating: the logs match up to `match`; the leader streams entries optimistically,
 *   with up to `maxInflight` AppendEntries and `maxInflightBytes` payload bytes
 *   unacknowledged (a window in messages and in bytes, like etcd's Inflights).
 */
export class Progress {
  /**
   * Invariant: 0 <= match < next. Highest index known to be durable on the follower.
   * Only grows, unless the follower shows that its disk lost entries (`forgetLost`).
   */
  match = 0;
  /** The heartbeat round of the answer that last moved `match`. */
  matchSeq = 0;
  /** The next index to send. */
  next: number;
  probing = true;
  /** Probing: a probe is out and unanswered. */
  probeSent = false;
  /**
   * Whether the follower answered anything (`heardFrom`) since the last probe went to it
   * (`sent`). A probe repeated to a follower that has not goes without entries
   * (`sendAppend`): a follower that is down costs no reads from storage however often it
   * is probed, and the first probe after it answers carries entries again.
   */
  answeredSinceProbe = true;
  /** Probing: the heartbeat round the awaited probe was sent in (`sent`). */
  probeSeq = 0;
  /** Probing: the awaited probe is one sent again as missing (`resendMissingProbe`): it is not sent again so. */
  probeResent = false;
  /** Replicating: the last index and payload bytes of each unacknowledged AppendEntries, ascending by index. */
  readonly inflight: { readonly lastIndex: number; readonly bytes: number }[] = [];
  /** Invariant: the sum of `inflight[i].bytes`. */
  inflightBytes = 0;
  /** Heartbeat ticks since the follower last made progress while something was outstanding. */
  stalledTicks = 0;
  /** The highest heartbeat round the follower answered in this term. */
  ackedSeq = 0;
  /** When the follower last answered (for CheckQuorum). */
  lastContact = -Infinity;
  /** Heartbeat ticks since the follower last answered anything. */
  silentTicks = 0;
  /** Heartbeat ticks since `lastContact` (for CheckQuorum; unlike `silentTicks`, only an answer resets it). */
  ticksSinceContact = 0;
  /** The commit index last told to the follower. */
  commitSent = 0;
  /**
   * The highest index the follower waits to hear committed: the last entry of a command
   * it forwarded, or the index of a read it asked for. A commit notice goes to it only
   * while this is above `commitSent` (`maybeSendCommit`).
   */
  commitWanted = 0;
  /** Non-zero for a member removed by the configuration at this index: kept only until it stores that entry. */
  removedAt = 0;
  /**
   * Set while the follower is sent a snapshot instead of entries (it needs entries the
   * leader has compacted away): which snapshot, and the chunk awaited.
   */
  snapshot: SnapshotTransfer | null = null;
  /**
   * Set while entries for the follower are read back from storage (it needs entries the
   * leader no longer holds in memory): where the read starts, heartbeat ticks since it was
   * asked, and whether it failed. Nothing else is sent to the follower meanwhile but
   * heartbeats; a failed read, or one unanswered for `stallTicks` ticks, is dropped at the
   * next tick and asked again.
   */
  reading: { readonly from: number; ticks: number; failed: boolean } | null = null;
  /**
   * Replicating from storage: entries read back for the follower that its window had no
   * room for yet, sent from here as it opens while the next read runs (`sendAppend`).
   * Invariant: contiguous, the first at `next` (`alignReadAhead`), at most
   * `maxInflightBytes` of payload, or less than half of it and one entry, and at most
   * `maxInflight × maxEntriesPerMessage` entries.
   */
  readonly readAhead: Entry[] = [];
  /** Invariant: the payload bytes of `readAhead`. */
  readAheadBytes = 0;
  /** Reads from storage asked for this follower (`readEntries`: it needed entries no longer in memory) since this node leads. */
  storageReads = 0;
  /** Payload bytes of the entries those reads brought back (`entriesRead`), since this node leads. */
  storageReadBytes = 0;
  /** Snapshot transfers started for the follower (`startSnapshotTransfer`), each start over included, since this node leads. */
  snapshotTransfers = 0;
  /** Snapshot chunks sent to the follower again (`resendAwaitedChunk`: it or its answer may have been lost), since this node leads. */
  snapshotChunksResent = 0;
  /** Snapshot transfers to the follower given up (`abandonTransfer`: a chunk unacknowledged through every resend), since this node leads. */
  snapshotTransfersAbandoned = 0;
  /** Transfers given up since the follower last installed a snapshot from this leader: the longer the run, the longer the wait before the next start (`abandonTransfer`). */
  snapshotAbandonsInARow = 0;
  /**
   * Catch-up rounds (Raft dissertation §4.2.1), which say whether a learner keeps up well
   * enough to be promoted: a round ends when the follower holds everything the leader's
   * log held when the round began (`roundTarget`, from `roundStart`), and the next round
   * begins then, up to the log's end at that moment (`noteCatchUp`).
   */
  roundTarget: number;
  roundStart: number;
  /** How long the last completed catch-up round took (Infinity until one completed). */
  lastRoundMs = Infinity;

  /** A follower of a leader whose log ends at `lastIndex`, at `now`: its first catch-up round runs to `lastIndex`. */
  constructor(lastIndex: number, now: number) {
    this.next = lastIndex + 1;
    this.roundTarget = lastIndex;
    this.roundStart = now;
  }

  /**
   * After an acknowledgement: ends the catch-up round if the follower now holds its
   * target, and begins the next, to `lastIndex`, at `now`.
   *
   * @example
   * pr.acknowledge(120); pr.noteCatchUp(s.now, s.log.lastIndex); // round to 120 done: lastRoundMs set
   */
  noteCatchUp(now: number, lastIndex: number): void {
    if (this.match < this.roundTarget) return;
    this.lastRoundMs = now - this.roundStart;
    this.roundTarget = lastIndex;
    this.roundStart = now;
  }

  /** The follower answered at `now` (CheckQuorum's contact: time and ticks start over). */
  heardFrom(now: number): void {
    this.lastContact = now;
    this.ticksSinceContact = 0;
    this.answeredSinceProbe = true;
  }

  /** Whether nothing more may be sent until an answer arrives: the window is full in messages or in bytes. */
  isPaused(maxInflight: number, maxInflightBytes = Infinity): boolean {
    if (this.probing) return this.probeSent;
    return this.inflight.length >= maxInflight || this.inflightBytes >= maxInflightBytes;
  }

  /**
   * Payload bytes the window still takes (replicating). With nothing in flight the room is
   * unlimited: a single entry larger than the window still goes, alone, or replication
   * would stall on it.
   */
  bytesRoom(maxInflightBytes: number): number {
    return this.inflight.length === 0 ? Infinity : Math.max(0, maxInflightBytes - this.inflightBytes);
  }

  /** Something was sent and not yet answered. */
  get hasOutstanding(): boolean {
    return this.probing ? this.probeSent : this.inflight.length > 0;
  }

  /** Records a sent AppendEntries whose last entry is `lastIndex`, carrying `bytes` of payload, in heartbeat round `seq`. */
  sent(lastIndex: number, bytes = 0, seq = 0): void {
    if (this.probing) {
      this.probeSent = true;
      this.answeredSinceProbe = false;
      this.probeSeq = seq;
    } else {
      this.inflight.push({ lastIndex, bytes });
      this.inflightBytes += bytes;
      this.next = lastIndex + 1;
    }
  }

  /** The follower holds everything up to `index` (said in round `seq`). Returns whether that was news. */
  acknowledge(index: number, seq = 0): boolean {
    const advanced = index > this.match;
    if (advanced) {
      this.match = index;
      this.matchSeq = Math.max(this.matchSeq, seq);
    }
    if (this.next <= this.match) this.next = this.match + 1;
    while (this.inflight.length > 0 && this.inflight[0].lastIndex <= index) {
      this.inflightBytes -= this.inflight[0].bytes;
      this.inflight.shift();
    }
    if (advanced) this.stalledTicks = 0;
    return advanced;
  }

  /**
   * The follower's log ends at `lastIndex`, below `match`: its disk lost entries it had
   * acknowledged (a torn or corrupt tail cut at restart). The leader believes it and
   * probes from there; what was committed stays committed (a majority still holds it).
   */
  forgetLost(lastIndex: number): void {
    this.match = lastIndex;
    this.becomeProbing(lastIndex + 1);
  }

  /** Where the next read from storage for the follower starts: after `readAhead`, or at `next`. */
  get readAheadEnd(): number {
    const n = this.readAhead.length;
    return n === 0 ? this.next : this.readAhead[n - 1].index + 1;
  }

  /** Drops what `readAhead` holds below `next` (acknowledged meanwhile); all of it if it no longer starts there. */
  alignReadAhead(sizeOf: (e: Entry) => number): void {
    let drop = 0;
    while (drop < this.readAhead.length && this.readAhead[drop].index < this.next) drop++;
    if (drop < this.readAhead.length && this.readAhead[drop].index !== this.next) drop = this.readAhead.length;
    for (let i = 0; i < drop; i++) this.readAheadBytes -= sizeOf(this.readAhead[i]);
    this.readAhead.splice(0, drop);
    if (this.readAhead.length === 0) this.readAheadBytes = 0;
  }

  /** Forgets `readAhead` (the follower is probed again, or sent a snapshot). */
  clearReadAhead(): void {
    this.readAhead.length = 0;
    this.readAheadBytes = 0;
  }

  /**
   * Whether the awaited probe went missing: the follower answered a heartbeat round started
   * after the probe was sent, at least one heartbeat tick ago, and not the probe. A follower
   * whose host restarted drops what reached it before its group was running (the host's
   * router knows no such group yet), the probe included; without this the leader waited
   * `stallTicks` (2 s with the sharded example's timeouts) while the follower answered
   * every heartbeat (etcd resumes a probe on any heartbeat answer). Once per probe: a
   * follower answering heartbeats runs its group, so the probe sent again reaches it; and
   * a probe only slow (its answer waits for the follower's disk, a heartbeat's does not)
   * costs at most one duplicate.
   */
  probeMissing(answeredSeq: number): boolean {
    return this.probing && this.probeSent && !this.probeResent && answeredSeq > this.probeSeq && this.stalledTicks >= 1;
  }

  /** The awaited probe went missing (`probeMissing`): it is sent again, from the same index, and not a third time so. */
  resendMissingProbe(): void {
    this.becomeProbing(this.next);
    this.probeResent = true;
  }

  /** Switches to streaming after a probe succeeded. */
  becomeReplicating(): void {
    this.clearReadAhead();
    this.probing = false;
    this.probeSent = false;
    this.clearInflight();
    this.next = this.match + 1;
    this.stalledTicks = 0;
  }

  private clearInflight(): void {
    this.inflight.length = 0;
    this.inflightBytes = 0;
  }

  /** Falls back to probing from `next` (after a rejection or a stall). */
  becomeProbing(next: number): void {
    this.clearReadAhead();
    this.probing = true;
    this.probeSent = false;
    this.probeResent = false;
    this.clearInflight();
    this.next = Math.max(next, this.match + 1);
    this.stalledTicks = 0;
  }
}
