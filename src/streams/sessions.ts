import type { SessionInfo, SessionPolicy } from '../api';
import { DEFAULT_SESSION_POLICY } from '../options';
import { InvalidMessageError } from '../errors';




interface Session {
  /** Applied seq → the position of the entry that applied it. */
  readonly applied: Map<number, { index: number; term: number }>;
  lastActive: number;
}

/** The session table inside a snapshot: [clientId, lastActive, [seq, index, term][]][]. */
export type SessionsSnapshot = [string, number, [number, number, number][]][];

export type SessionVerdict =
  | { readonly duplicate: false }
  | { readonly duplicate: true; readonly original: { index: number; term: number } }
  /** The seq is older than the client's window: it may have applied; it is not applied again. */
  | { readonly duplicate: true; readonly original: null };

export class SessionTable {
  /** Insertion order = least recently active first (re-inserted on activity). Made at the first session: most groups of a host never see one. */
  private sessions: Map<string, Session> | null = null;

  constructor(private readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY) {}

  /** Decides whether the command at `index` applies, and records it if so. */
  apply(info: SessionInfo, index: number, term: number): SessionVerdict {
    const sessions = (this.sessions ??= new Map());
    this.expire(sessions, index, info.clientId);
    let session = sessions.get(info.clientId);
    if (session) sessions.delete(info.clientId);
    else session = { applied: new Map(), lastActive: index };
    session.lastActive = index;
    sessions.set(info.clientId, session);
    const original = session.applied.get(info.seq);
    if (original) return { duplicate: true, original };
    if (session.applied.size >= this.policy.window) {
      const oldest = Math.min(...session.applied.keys());
      if (info.seq < oldest) return { duplicate: true, original: null };
      session.applied.delete(oldest);
    }
    session.applied.set(info.seq, { index, term });
    return { duplicate: false };
  }

  get size(): number {
    return this.sessions?.size ?? 0;
  }

  /** The table as plain data, for snapshots (sessions are part of the replicated state). */
  export(): SessionsSnapshot {
    return [...(this.sessions ?? [])].map(([clientId, s]) => [clientId, s.lastActive, [...s.applied].map(([seq, at]) => [seq, at.index, at.term])]);
  }

  /** Replaces the table with one taken by `export` (on restore from a snapshot). */
  import(data: SessionsSnapshot): void {
    const sessions = (this.sessions = new Map());
    for (const [clientId, lastActive, applied] of data) {
      sessions.set(clientId, { lastActive, applied: new Map(applied.map(([seq, index, term]) => [seq, { index, term }])) });
    }
  }

  /**
   * Forgets idle clients, and the least recently active ones while the table is full —
   * only to make room for a client it does not hold (`arriving`): a retry from the least
   * recently active client must still be recognised.
   */
  private expire(sessions: Map<string, Session>, index: number, arriving: string): void {
    const room = sessions.has(arriving) ? 0 : 1;
    for (const [clientId, session] of sessions) {
      const idle = index - session.lastActive > this.policy.idleEntries;
      if (!idle && sessions.size + room <= this.policy.maxClients) break;
      sessions.delete(clientId);
    }
  }
}

/**
 * The bytes of a session command: u16 clientId length, clientId (UTF-8), u32 seq high,
 * u32 seq low, then the command.
 */
export function encodeSessionCommand(info: SessionInfo, data: Uint8Array): Uint8Array {
  const id = Buffer.from(info.clientId, 'utf8');
  if (id.length === 0 || id.length > 0xffff) throw new RangeError('clientId must be 1..65535 bytes of UTF-8');
  if (!Number.isSafeInteger(info.seq) || info.seq < 0) throw new RangeError('seq must be a non-negative integer');
  const out = Buffer.allocUnsafe(2 + id.length + 8 + data.byteLength);
  out.writeUInt16BE(id.length, 0);
  id.copy(out, 2);
  out.writeUInt32BE(Math.floor(info.seq / 0x1_0000_0000), 2 + id.length);
  out.writeUInt32BE(info.seq >>> 0, 6 + id.length);
  out.set(data, 10 + id.length);
  return out;
}

export function decodeSessionCommand(bytes: Uint8Array): { info: SessionInfo; data: Uint8Array } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 2) throw new InvalidMessageError('session command too short');
  const idLength = buf.readUInt16BE(0);
  if (buf.length < 10 + idLength) throw new InvalidMessageError('session command truncated');
  const clientId = buf.toString('utf8', 2, 2 + idLength);
  const seq = buf.readUInt32BE(2 + idLength) * 0x1_0000_0000 + buf.readUInt32BE(6 + idLength);
  return { info: { clientId, seq }, data: buf.subarray(10 + idLength) };
}
