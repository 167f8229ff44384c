/** TermQuery / TermReport (a node recovering a lost hard state, core/termRecovery.ts) at the edge: validated like every message. */
import { InvalidMessageError } from '../../src/errors';
import { validateMessage } from '../../src/messages/validate';
import { decodeEnvelope, encodeEnvelope } from '../../src/transports/tcpCodec';

test.each(['TermQuery', 'TermReport'] as const)('%s carries a non-negative integer term; anything else is refused', (type) => {
  expect(validateMessage({ type, term: 0 })).toEqual({ type, term: 0 });
  expect(validateMessage({ type, term: 2 ** 53 - 1 })).toEqual({ type, term: 2 ** 53 - 1 });
  for (const term of [-1, 1.5, '3', null, undefined, 2 ** 53]) expect(() => validateMessage({ type, term })).toThrow(InvalidMessageError);
});

test('on TCP they travel in their own positional layouts (codes 10 and 11) and decode back', () => {
  const cases = [
    { message: { type: 'TermQuery', term: 4 }, code: 10 },
    { message: { type: 'TermReport', term: 2 ** 40 }, code: 11 },
  ] as const;
  for (const { message, code } of cases) {
    const body = encodeEnvelope('a', 'b', message);
    expect(body[1]).toBe(code); // [code, from, to, payload]: no map of field names
    expect(decodeEnvelope(body, 'a', 'b')).toEqual({ from: 'a', to: 'b', message });
  }
});
