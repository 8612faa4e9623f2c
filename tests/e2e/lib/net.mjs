// Sockets and HTTPS for the e2e suite: free ports, a test CA and its server certificates
// made with the openssl command line tool, and HTTPS requests that trust exactly that CA.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A test CA (its certificate is the one trust anchor of every party: the instance stand-in,
 * and the relay's outbound calls through outbound_ca_file): { cert, key }.
 */
export function makeCa(dir) {
  const cert = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  execFileSync('openssl', ['req', '-x509', '-nodes', '-days', '2',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-keyout', key, '-out', cert, '-subj', '/CN=oauth-relay e2e test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  return { cert, key };
}

/** A server certificate for localhost and 127.0.0.1, issued by `ca`: { cert, key }. */
export function makeCert(dir, ca, name = 'server') {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  execFileSync('openssl', ['req', '-new', '-nodes',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-keyout', key, '-out', csr, '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'extendedKeyUsage=serverAuth'], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-days', '2',
    '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
    '-copy_extensions', 'copyall', '-out', cert], { stdio: 'pipe' });
  return { cert, key };
}

/**
 * One HTTPS request, verified against `ca` (PEM). Resolves to
 * { status, headers (node's lower-case object), rawHeaders, body (Buffer) }.
 */
export function httpsRequest(url, { method = 'GET', headers = {}, body, ca, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        rawHeaders: res.rawHeaders,
        body: Buffer.concat(chunks),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A fetch() for openid-client's customFetch option: the same contract (url string, options
 * with method, headers, body, redirect 'manual', signal) but over node:https trusting `ca`,
 * since Node 20's fetch cannot be given a private trust anchor.
 */
export function fetchTrusting(ca) {
  return async (url, options = {}) => {
    let { body } = options;
    if (body instanceof URLSearchParams) body = body.toString();
    const headers = options.headers instanceof Headers
      ? Object.fromEntries(options.headers.entries()) : { ...(options.headers || {}) };
    if (typeof body === 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const res = await httpsRequest(url, {
      method: options.method || 'GET', headers, body, ca, signal: options.signal,
    });
    const out = new Headers();
    for (let i = 0; i < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
    const empty = [101, 204, 205, 304].includes(res.status);
    return new Response(empty ? null : res.body, { status: res.status, headers: out });
  };
}
