import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Temp directories for one test file, all removed by `removeAll()` (call it in
 * `afterEach`/`afterAll` so they go even when a test fails).
 *
 * @example
 * const dirs = new TempDirs('rxraft-file-');
 * afterAll(() => dirs.removeAll());
 * const dir = dirs.make();
 */
export class TempDirs {
  private readonly made: string[] = [];

  constructor(private readonly prefix: string) {}

  make(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    this.made.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}
