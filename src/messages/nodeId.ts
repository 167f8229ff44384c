/** A node's id, unique in its cluster (a non-empty string). */
export type NodeId = string;
