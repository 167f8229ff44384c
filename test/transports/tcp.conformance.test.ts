import { describeTransportConformance } from './conformance';
import { TcpNetwork } from './tcpHarness';

describeTransportConformance('TCP (shared secret)', () => new TcpNetwork());
