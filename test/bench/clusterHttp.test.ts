/** The benchmark's HTTP client: where a response ends, and how each server's API is spelled (bench/clusterHttp.ts). */
import { etcdDialect, kvDialect, responseEnd } from '../../bench/clusterHttp';

const text = (s: string) => Buffer.from(s, 'latin1');

describe('responseEnd', () => {
  it('ends a Content-Length response after its body, and waits for the whole body', () => {
    const response = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
    expect(responseEnd(text(response))).toEqual({ status: 200, end: response.length, close: false });
    expect(responseEnd(text(response.slice(0, -1)))).toBeNull();
    expect(responseEnd(text('HTTP/1.1 200 OK\r\nContent-Len'))).toBeNull();
  });

  it('finds the first of two pipelined responses, with its status', () => {
    const first = 'HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}';
    expect(responseEnd(text(first + 'HTTP/1.1 200 OK\r\n'))).toEqual({ status: 404, end: first.length, close: true });
  });

  it('ends a chunked response after its last, empty chunk', () => {
    const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\n';
    expect(responseEnd(text(response + 'HTTP/1.1'))).toEqual({ status: 200, end: response.length, close: false });
    expect(responseEnd(text(response.slice(0, -2)))).toBeNull();
    expect(responseEnd(text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'))).toBeNull();
  });

  it('refuses a chunk size that is not hexadecimal', () => {
    expect(() => responseEnd(text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'))).toThrow(/bad chunk size/);
  });
});

describe('dialects', () => {
  it('spell a KV server write as PUT /kv/<key> with the value as the body, a read as GET', () => {
    const value = Buffer.from('v1');
    expect(kvDialect.put('k1', value)).toEqual({ method: 'PUT', path: '/kv/k1', body: value });
    expect(kvDialect.get('k1')).toMatchObject({ method: 'GET', path: '/kv/k1' });
  });

  it('spell an etcd write and read as JSON with base64 key and value, for the v3 gateway', () => {
    const etcd = etcdDialect();
    const put = etcd.put('k1', Buffer.from('value'));
    expect(put.method).toBe('POST');
    expect(put.path).toBe('/v3/kv/put');
    expect(JSON.parse(put.body.toString())).toEqual({ key: Buffer.from('k1').toString('base64'), value: Buffer.from('value').toString('base64') });
    // The same value buffer again, and another one: each encoded as it is.
    expect(JSON.parse(etcd.put('k2', Buffer.from('other')).body.toString()).value).toBe(Buffer.from('other').toString('base64'));
    const get = etcd.get('k1');
    expect([get.method, get.path]).toEqual(['POST', '/v3/kv/range']);
    expect(JSON.parse(get.body.toString())).toEqual({ key: Buffer.from('k1').toString('base64') });
  });
});
