import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedDsyncBandwidth } from '../../bench/clusterFloor';

describe('the shared O_DSYNC reference of the large-entry benchmark', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-floor-test-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes with three writers at once, reports the slowest one in MB/s, and leaves no file behind', async () => {
    const result = await sharedDsyncBandwidth(dir, 4096, 200, 3);
    expect(result.blockBytes).toBe(4096);
    expect(result.writes).toBeGreaterThan(0);
    expect(result.mbPerSec).toBeCloseTo((result.writes * 4096) / 1e6 / result.seconds, 6);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
