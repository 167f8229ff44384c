import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM material of one certificate authority and the node certificates it signed. */
export interface Pki {
  readonly ca: string;
  /** node certificate and key by name */
  readonly nodes: Record<string, { readonly cert: string; readonly key: string }>;
}

/** Whether the `openssl` command is available. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a throw-away CA (EC P-256, valid one day) and, for each node, a key and a
 * certificate signed by it whose CN and DNS SAN are the node's name. Files live in a
 * temporary directory that is removed before returning.
 *
 * @example
 * const pki = makePki('cluster-ca', ['n1', 'n2']);
 * tcpTransport({ ..., tls: { ca: pki.ca, ...pki.nodes.n1 } });
 */
export function makePki(caName: string, names: readonly string[]): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'rxraft-pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    ssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', `/CN=${caName}`, '-days', '1');
    const nodes: Record<string, { cert: string; key: string }> = {};
    for (const name of names) {
      ssl('req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
      );
      ssl(
        'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`,
      );
      nodes[name] = { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
    }
    return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), nodes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
