/**
 * The linearizability checker: it must agree with the known verdicts of the shared
 * corpus, with hand-made histories whose verdicts are obvious, and with a brute-force
 * search on small random histories.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomInt, seededRandom } from '../../src/random';
import { formatHistory, HistoryFormatError, KvOperation, parseHistory } from '../../src/testing/history';
import { checkLinearizability } from '../../src/testing/linearizability';

const corpusDir = path.join(__dirname, '../../../shared/histories');
const corpus = fs.existsSync(corpusDir)
  ? fs.readdirSync(corpusDir).filter((f) => f.endsWith('.jsonl')).sort()
  : [];

(corpus.length > 0 ? describe : describe.skip)(
  corpus.length > 0
    ? `known-verdict histories in ${corpusDir}`
    : `known-verdict histories: SKIPPED, none found in ${corpusDir}`,
  () => {
    test.each(corpus)('%s gets the verdict its name says', (file) => {
      const expected = file.endsWith('.not-linearizable.jsonl') ? 'violation' : 'ok';
      expect(file.endsWith('.linearizable.jsonl') || expected === 'violation').toBe(true);
      const history = parseHistory(fs.readFileSync(path.join(corpusDir, file), 'utf8'));
      expect(history.length).toBeGreaterThan(0);
      expect(checkLinearizability(history).verdict).toBe(expected);
    });

    test.each(corpus)('%s survives a format/parse round trip', (file) => {
      const history = parseHistory(fs.readFileSync(path.join(corpusDir, file), 'utf8'));
      expect(parseHistory(formatHistory(history))).toEqual(history);
    });
  },
);
if (corpus.length === 0) test.todo(`add the shared histories at ${corpusDir}`);

// Helpers for hand-made histories: [call, return] intervals, return null = indeterminate.
type Interval = [call: number, ret: number | null];
let nextClient = 0;
const base = ([call, ret]: Interval, key: string) => ({ client: nextClient++, call, return: ret, key });
const get = (t: Interval, output: string | null, key = 'x'): KvOperation => ({ ...base(t, key), op: 'get', output });
const put = (t: Interval, value: string, key = 'x'): KvOperation => ({ ...base(t, key), op: 'put', value });
const append = (t: Interval, value: string, key = 'x'): KvOperation => ({ ...base(t, key), op: 'append', value });
const cas = (t: Interval, expected: string | null, value: string, output?: boolean, key = 'x'): KvOperation =>
  output === undefined
    ? { ...base(t, key), op: 'cas', expected, value }
    : { ...base(t, key), op: 'cas', expected, value, output };
const verdict = (...history: KvOperation[]) => checkLinearizability(history).verdict;

describe('reads and writes', () => {
  test('an empty history is linearizable', () => {
    expect(checkLinearizability([])).toEqual({ verdict: 'ok', steps: 0 });
  });

  test('a stale read after a completed write is a violation', () => {
    expect(verdict(put([0, 10], '1'), get([20, 30], null))).toBe('violation');
    expect(verdict(put([0, 10], '1'), put([11, 12], '2'), get([20, 30], '1'))).toBe('violation');
  });

  test('a read concurrent with a write may see either value', () => {
    expect(verdict(put([0, 10], '1'), get([5, 15], '1'))).toBe('ok');
    expect(verdict(put([0, 10], '1'), get([5, 15], null))).toBe('ok');
    expect(verdict(put([0, 10], '1'), get([5, 15], '2'))).toBe('violation');
  });

  test('intervals are closed: a return and a call at the same instant are concurrent', () => {
    expect(verdict(put([0, 10], '1'), get([10, 20], null))).toBe('ok');
    expect(verdict(put([0, 10], '1'), get([11, 20], null))).toBe('violation');
  });

  test('two reads cannot see the new value and then the old one', () => {
    expect(verdict(put([0, 100], '1'), get([10, 20], '1'), get([30, 40], null))).toBe('violation');
    expect(verdict(put([0, 100], '1'), get([10, 20], null), get([30, 40], '1'))).toBe('ok');
  });

  test('keys are independent, and the violating key is named', () => {
    const result = checkLinearizability([
      put([0, 10], '1', 'a'),
      get([20, 30], '1', 'a'),
      put([0, 10], '1', 'b'),
      get([20, 30], null, 'b'),
      get([20, 30], null, 'c'),
    ]);
    expect(result).toMatchObject({ verdict: 'violation', key: 'b' });
  });
});

describe('indeterminate operations (return: null)', () => {
  test('an indeterminate put that is observed later is linearizable', () => {
    expect(verdict(put([0, null], '1'), get([20, 30], '1'))).toBe('ok');
  });

  test('an indeterminate put that is never observed is linearizable', () => {
    expect(verdict(put([0, null], '1'), get([20, 30], null))).toBe('ok');
  });

  test('an indeterminate put observed and then un-observed is a violation', () => {
    expect(verdict(put([0, null], '1'), get([10, 20], '1'), get([30, 40], null))).toBe('violation');
  });

  test('an indeterminate put takes effect no earlier than its call', () => {
    expect(verdict(get([0, 10], '1'), put([20, null], '1'))).toBe('violation');
  });

  test('an indeterminate put may take effect long after the next writes', () => {
    expect(verdict(put([0, null], '1'), put([10, 20], '2'), get([30, 40], '2'), get([50, 60], '1'))).toBe('ok');
  });

  test('an indeterminate get constrains nothing', () => {
    expect(verdict(put([0, 10], '1'), get([20, null], 'nonsense'))).toBe('ok');
    expect(verdict(put([0, 10], '1'), { ...base([20, null], 'x'), op: 'get' })).toBe('ok');
  });

  test('indeterminate appends may be dropped or applied, each at most once', () => {
    const appends = [append([0, null], 'a'), append([0, null], 'b')];
    expect(verdict(...appends, get([10, 20], 'ba'))).toBe('ok');
    expect(verdict(...appends, get([10, 20], 'b'))).toBe('ok');
    expect(verdict(...appends, get([10, 20], 'aa'))).toBe('violation');
  });

  test('a history of indeterminate operations only is linearizable', () => {
    expect(verdict(put([0, null], '1'), append([5, null], '2'), cas([6, null], '1', '3'))).toBe('ok');
  });
});

describe('cas', () => {
  test('swaps when the value is the expected one, and says so', () => {
    expect(verdict(put([0, 1], 'a'), cas([2, 3], 'a', 'b', true), get([4, 5], 'b'))).toBe('ok');
    expect(verdict(put([0, 1], 'a'), cas([2, 3], 'a', 'b', false))).toBe('violation');
    expect(verdict(put([0, 1], 'a'), cas([2, 3], 'a', 'b', true), get([4, 5], 'a'))).toBe('violation');
  });

  test('fails, without writing, when the value is another', () => {
    expect(verdict(put([0, 1], 'c'), cas([2, 3], 'a', 'b', false), get([4, 5], 'c'))).toBe('ok');
    expect(verdict(put([0, 1], 'c'), cas([2, 3], 'a', 'b', true))).toBe('violation');
    expect(verdict(put([0, 1], 'c'), cas([2, 3], 'a', 'b', false), get([4, 5], 'b'))).toBe('violation');
  });

  test('expected null means the key must be absent', () => {
    expect(verdict(cas([0, 1], null, 'a', true), get([2, 3], 'a'))).toBe('ok');
    expect(verdict(put([0, 1], 'z'), cas([2, 3], null, 'a', true))).toBe('violation');
    expect(verdict(put([0, 1], 'z'), cas([2, 3], null, 'a', false), get([4, 5], 'z'))).toBe('ok');
    expect(verdict(cas([0, 1], null, 'a', false))).toBe('violation');
  });

  test('concurrent cases: only one of two identical swaps can succeed', () => {
    expect(verdict(put([0, 1], 'a'), cas([2, 10], 'a', 'b', true), cas([2, 10], 'a', 'c', true))).toBe('violation');
    expect(verdict(put([0, 1], 'a'), cas([2, 10], 'a', 'b', true), cas([2, 10], 'a', 'c', false))).toBe('ok');
    expect(verdict(put([0, 1], 'a'), cas([2, 10], 'a', 'b', true), cas([2, 10], 'b', 'c', true), get([11, 12], 'c'))).toBe('ok');
  });

  test('an indeterminate cas may swap or not', () => {
    expect(verdict(put([0, 1], 'a'), cas([2, null], 'a', 'b'), get([4, 5], 'a'))).toBe('ok');
    expect(verdict(put([0, 1], 'a'), cas([2, null], 'a', 'b'), get([4, 5], 'b'))).toBe('ok');
    expect(verdict(put([0, 1], 'a'), cas([2, null], 'a', 'b'), get([4, 5], 'b'), get([6, 7], 'a'))).toBe('violation');
  });

  test('the output of an indeterminate cas is ignored', () => {
    const indeterminate: KvOperation = { ...base([2, null], 'x'), op: 'cas', expected: 'a', value: 'b', output: false };
    expect(verdict(put([0, 1], 'a'), indeterminate, get([4, 5], 'b'))).toBe('ok');
  });
});

describe('append', () => {
  test('appending to an absent key creates it', () => {
    expect(verdict(append([0, 1], 'a'), get([2, 3], 'a'))).toBe('ok');
    expect(verdict(append([0, 1], ''), get([2, 3], ''))).toBe('ok');
    expect(verdict(append([0, 1], ''), get([2, 3], null))).toBe('violation');
  });

  test('sequential appends concatenate in order', () => {
    expect(verdict(append([0, 1], 'a'), append([2, 3], 'b'), get([4, 5], 'ab'))).toBe('ok');
    expect(verdict(append([0, 1], 'a'), append([2, 3], 'b'), get([4, 5], 'ba'))).toBe('violation');
  });

  test('concurrent appends land in either order, but both', () => {
    expect(verdict(append([0, 10], 'a'), append([0, 10], 'b'), get([20, 30], 'ab'))).toBe('ok');
    expect(verdict(append([0, 10], 'a'), append([0, 10], 'b'), get([20, 30], 'ba'))).toBe('ok');
    expect(verdict(append([0, 10], 'a'), append([0, 10], 'b'), get([20, 30], 'a'))).toBe('violation');
  });

  test('a put replaces what was appended', () => {
    expect(verdict(append([0, 1], 'a'), put([2, 3], 'p'), append([4, 5], 'b'), get([6, 7], 'pb'))).toBe('ok');
    expect(verdict(append([0, 1], 'a'), put([2, 3], 'p'), append([4, 5], 'b'), get([6, 7], 'apb'))).toBe('violation');
  });
});

describe('budget', () => {
  const concurrent = [
    append([0, 100], 'a'),
    append([0, 100], 'b'),
    append([0, 100], 'c'),
    get([0, 100], 'ab'),
    get([200, 300], 'cba'),
  ];

  test('a search that runs out of budget is unknown, never ok', () => {
    expect(verdict(...concurrent)).toBe('violation');
    const result = checkLinearizability(concurrent, { budget: 1 });
    expect(result).toEqual({ verdict: 'unknown', key: 'x', steps: 1 });
  });

  test('a linearizable history out of budget is unknown too', () => {
    const ok = [...concurrent.slice(0, 4), get([200, 300], 'abc')];
    expect(verdict(...ok)).toBe('ok');
    expect(checkLinearizability(ok, { budget: 2 }).verdict).toBe('unknown');
  });

  test('a violation in one key wins over another key out of budget', () => {
    const other = concurrent.map((op) => ({ ...op, key: 'y' }));
    const history = [...other, put([0, 10], '1', 'z'), get([20, 30], null, 'z')];
    expect(checkLinearizability(history, { budget: 5 })).toMatchObject({ verdict: 'violation', key: 'z' });
  });
});

describe('history format', () => {
  test('parses the README example, and formats it back', () => {
    const text = [
      '{"client": 0, "call": 100, "return": 200, "op": "put", "key": "x", "value": "1"}',
      '{"client": 1, "call": 150, "return": 260, "op": "get", "key": "x", "output": "1"}',
      '{"client": 2, "call": 120, "return": 400, "op": "append", "key": "y", "value": "ab"}',
      '{"client": 3, "call": 500, "return": 650, "op": "cas", "key": "x", "expected": "1", "value": "2", "output": true}',
      '{"client": 4, "call": 700, "return": null, "op": "put", "key": "x", "value": "9"}',
      '',
    ].join('\n');
    const history = parseHistory(text);
    expect(history).toHaveLength(5);
    expect(history[3]).toEqual({ client: 3, call: 500, return: 650, op: 'cas', key: 'x', expected: '1', value: '2', output: true });
    expect(history[4].return).toBeNull();
    expect(formatHistory(history).split('\n')[0]).toBe(
      '{"client":0,"call":100,"return":200,"op":"put","key":"x","value":"1"}',
    );
    expect(parseHistory(formatHistory(history))).toEqual(history);
    expect(checkLinearizability(history).verdict).toBe('ok');
  });

  const good = '{"client":0,"call":1,"return":2,"op":"get","key":"x","output":null}';
  test.each([
    ['not JSON', '{"client":0,'],
    ['not an object', '[1,2]'],
    ['an unknown op', '{"client":0,"call":1,"return":2,"op":"delete","key":"x"}'],
    ['return before call', '{"client":0,"call":5,"return":2,"op":"put","key":"x","value":"1"}'],
    ['no return', '{"client":0,"call":1,"op":"put","key":"x","value":"1"}'],
    ['a string time', '{"client":0,"call":"1","return":2,"op":"put","key":"x","value":"1"}'],
    ['no client', '{"call":1,"return":2,"op":"put","key":"x","value":"1"}'],
    ['a numeric key', '{"client":0,"call":1,"return":2,"op":"put","key":1,"value":"1"}'],
    ['a put without value', '{"client":0,"call":1,"return":2,"op":"put","key":"x"}'],
    ['a returned get without output', '{"client":0,"call":1,"return":2,"op":"get","key":"x"}'],
    ['a cas without expected', '{"client":0,"call":1,"return":2,"op":"cas","key":"x","value":"1","output":true}'],
    ['a cas with a string output', '{"client":0,"call":1,"return":2,"op":"cas","key":"x","expected":null,"value":"1","output":"true"}'],
  ])('rejects %s with a HistoryFormatError naming the line', (_, bad) => {
    const text = `${good}\n\n${bad}\n${good}\n`;
    let error: unknown;
    try {
      parseHistory(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HistoryFormatError);
    expect(error).toMatchObject({ name: 'HistoryFormatError', line: 3 });
    expect((error as Error).message).toMatch(/^line 3: /);
  });

  test('the checker rejects a malformed operation, naming its index + 1', () => {
    const history = [put([0, 1], 'a'), { ...put([0, 1], 'b'), call: 9 }];
    expect(() => checkLinearizability(history)).toThrow(HistoryFormatError);
    expect(() => checkLinearizability(history)).toThrow(/^line 2: return \(1\) is before call \(9\)$/);
  });

  test('accepts an indeterminate get or cas without output', () => {
    const history = parseHistory(
      '{"client":0,"call":1,"return":null,"op":"get","key":"x"}\n' +
        '{"client":1,"call":1,"return":null,"op":"cas","key":"x","expected":null,"value":"v"}',
    );
    expect(history).toHaveLength(2);
    expect(formatHistory(history)).not.toContain('output');
  });
});

describe('agrees with brute force on small random histories', () => {
  /** Tries every order (and every subset of indeterminate ops) that real time allows. */
  function bruteForce(history: readonly KvOperation[]): boolean {
    const ops = history.filter((op) => !(op.op === 'get' && (op.return === null || op.output === undefined)));
    const end = (op: KvOperation) => op.return ?? Infinity;
    const placed = new Array<boolean>(ops.length).fill(false);
    const search = (value: string | null, left: number): boolean => {
      if (left === 0) return true;
      for (let i = 0; i < ops.length; i++) {
        if (placed[i]) continue;
        const op = ops[i];
        if (ops.some((p, j) => !placed[j] && j !== i && end(p) < op.call)) continue;
        let after: string | null;
        const observed = op.return !== null;
        switch (op.op) {
          case 'get':
            if (op.output !== value) continue;
            after = value;
            break;
          case 'put':
            after = op.value;
            break;
          case 'append':
            after = (value ?? '') + op.value;
            break;
          case 'cas': {
            const swapped = value === op.expected;
            if (observed && op.output !== undefined && op.output !== swapped) continue;
            after = swapped ? op.value : value;
          }
        }
        placed[i] = true;
        const found = search(after, left - (observed ? 1 : 0));
        placed[i] = false;
        if (found) return true;
      }
      return false;
    };
    return search(null, ops.filter((op) => op.return !== null).length);
  }

  /** A history of `size` ops on one key: run them at random instants, then maybe lie. */
  function randomHistory(random: () => number, size: number): KvOperation[] {
    const values = ['a', 'b', 'ab', 'ba'];
    const pick = <T>(items: readonly T[]) => items[randomInt(random, 0, items.length - 1)];
    const ops = Array.from({ length: size }, (_, client) => {
      const call = randomInt(random, 0, 20);
      const ret = call + randomInt(random, 0, 10);
      return { client, call, ret, at: call + random() * (ret - call), kind: pick(['get', 'get', 'put', 'append', 'append', 'cas'] as const) };
    });
    let value: string | null = null;
    const history: KvOperation[] = [];
    for (const op of [...ops].sort((a, b) => a.at - b.at)) {
      const indeterminate = random() < 0.2;
      const takesEffect = !indeterminate || random() < 0.5;
      const t = { client: op.client, call: op.call, return: indeterminate ? null : op.ret, key: 'x' };
      const lie = random() < 0.2;
      switch (op.kind) {
        case 'get':
          history.push({ ...t, op: 'get', output: lie ? pick([null, ...values]) : value });
          break;
        case 'put': {
          const v = pick(values);
          if (takesEffect) value = v;
          history.push({ ...t, op: 'put', value: v });
          break;
        }
        case 'append': {
          const v = pick(['a', 'b']);
          if (takesEffect) value = (value ?? '') + v;
          history.push({ ...t, op: 'append', value: v });
          break;
        }
        case 'cas': {
          const expected = pick([null, ...values]);
          const v = pick(values);
          const swapped = value === expected;
          if (takesEffect && swapped) value = v;
          history.push({ ...t, op: 'cas', expected, value: v, output: lie ? !swapped : swapped });
        }
      }
    }
    return history.sort((a, b) => a.client - b.client);
  }

  test('3000 histories of up to 8 operations', () => {
    const random = seededRandom(20240601);
    const counts = { ok: 0, violation: 0 };
    for (let k = 0; k < 3000; k++) {
      const history = randomHistory(random, randomInt(random, 1, 8));
      const expected = bruteForce(history) ? 'ok' : 'violation';
      const result = checkLinearizability(history);
      if (result.verdict !== expected) {
        throw new Error(`expected ${expected}, got ${result.verdict} for\n${formatHistory(history)}`);
      }
      counts[expected]++;
    }
    // Both verdicts are well represented, so the comparison means something.
    expect(counts.ok).toBeGreaterThan(1000);
    expect(counts.violation).toBeGreaterThan(400);
  });
});
