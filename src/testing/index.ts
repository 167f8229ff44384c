/**
 * rxraft/testing: run real rxraft nodes on virtual time, an in-memory network and
 * in-memory storage, from one seed — for rxraft's own tests and for yours.
 */
export { TestCluster } from './cluster';
export type { TestClusterOptions } from './cluster';
export { VirtualClock, settle } from './virtualClock';
