/**
 * A node's id, unique in its cluster (a non-empty string).
 *
 * @example
 * const peers: NodeId[] = ['n1', 'n2', 'n3'];
 */
export type NodeId = string;
