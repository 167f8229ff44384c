/**
 * The parent's handle on a forked KV server: a call to a server that has exited fails
 * with an error naming it, instead of a ReferenceError from inside the handle.
 */
import { forkKvServer } from '../../examples/kv/processes';

jest.setTimeout(60_000);

it('a call to a KV server that has exited rejects with an error naming the server', async () => {
  // No --id and no peers: the server refuses its arguments and exits before it is ready.
  const child = forkKvServer({ id: 'bad', args: ['--no-such-flag'] });
  await expect(child.ready).rejects.toThrow(/bad/);
  const { code } = await child.exited;
  expect(code).not.toBe(0);
  await expect(child.call('status')).rejects.toThrow('bad has exited: cannot status');
});
