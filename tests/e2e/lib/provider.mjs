// The authorization server: npm oidc-provider over HTTPS on 127.0.0.1 (issuer
// https://localhost:<port>; the relay accepts only https issuers), two confidential clients
// (client_secret_basic): the instance's own, whose redirect_uri is the instance's callback
// at the relay, and the operator's shared app, whose redirect_uri is the relay's shared
// callback. PKCE required, its built-in development login and consent pages, any login
// accepted.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

export class AuthorizationServer {
  constructor(cert, redirectUri, shared) {
    this.cert = cert;
    this.clientId = 'qorus-e2e';
    this.clientSecret = randomBytes(24).toString('base64url');
    this.redirectUri = redirectUri;
    this.shared = shared; // { clientId, clientSecret, redirectUri } of the shared app
    this.server = null;
    this.provider = null;
    this.app = null;
  }

  async start() {
    this.server = https.createServer({
      cert: readFileSync(this.cert.cert),
      key: readFileSync(this.cert.key),
    }, (req, res) => (this.app ? this.app(req, res) : res.writeHead(503).end()));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    this.issuer = `https://localhost:${this.port}`;

    const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ format: 'jwk' });
    this.provider = new Provider(this.issuer, {
      clients: [
        [this.clientId, this.clientSecret, this.redirectUri],
        [this.shared.clientId, this.shared.clientSecret, this.shared.redirectUri],
      ].map(([id, secret, redirectUri]) => ({
        client_id: id,
        client_secret: secret,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      })),
      // PKCE with S256, for every client (not only public ones).
      pkce: { methods: ['S256'], required: () => true },
      features: { devInteractions: { enabled: true } },
      // Any login is accepted: the account is whatever name was typed.
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub }),
      }),
      ttl: { Interaction: 3600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      jwks: { keys: [{ ...signingKey, kid: 'e2e', alg: 'RS256', use: 'sig' }] },
    });
    this.provider.on('server_error', (_ctx, err) => {
      process.stderr.write(`oidc-provider server_error: ${err.stack}\n`);
    });
    this.app = this.provider.callback();
    return this;
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
    this.server = null;
  }
}
