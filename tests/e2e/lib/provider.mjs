// The authorization server: npm oidc-provider over HTTPS on 127.0.0.1 (issuer
// https://localhost:<port>; the relay accepts only https issuers, and its token delegate
// reaches this server trusting the test CA through outbound_ca_file), two confidential
// clients (client_secret_basic): the instance's own, whose redirect_uri is the instance's
// callback at the relay, and the operator's shared app, whose redirect_uri is the relay's
// shared callback and whose secret only the relay holds. PKCE required, its built-in
// development login and consent pages, any login accepted; refresh tokens for the shared
// app (scope offline_access, prompt=consent), and token introspection.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

export class AuthorizationServer {
  constructor(cert) {
    this.cert = cert;
    this.clientId = 'qorus-e2e';
    this.clientSecret = randomBytes(24).toString('base64url');
    this.server = null;
    this.provider = null;
    this.app = null;
  }

  /**
   * Listens first (503 until configured), so that the issuer and its endpoints are known
   * before the relay, whose configuration names them, starts.
   */
  async listen() {
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
    // oidc-provider's default routes.
    this.tokenEndpoint = `${this.issuer}/token`;
    this.introspectionEndpoint = `${this.issuer}/token/introspection`;
    this.userinfoEndpoint = `${this.issuer}/me`;
    return this;
  }

  /**
   * redirectUri: the instance's own callback at the relay; shared: { clientId, clientSecret,
   * redirectUri } of the operator's shared app.
   */
  configure(redirectUri, shared) {
    this.redirectUri = redirectUri;
    this.shared = shared;
    const client = (id, secret, uri, grants) => ({
      client_id: id,
      client_secret: secret,
      redirect_uris: [uri],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: grants,
      response_types: ['code'],
    });
    const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ format: 'jwk' });
    this.provider = new Provider(this.issuer, {
      clients: [
        client(this.clientId, this.clientSecret, redirectUri, ['authorization_code']),
        client(shared.clientId, shared.clientSecret, shared.redirectUri,
          ['authorization_code', 'refresh_token']),
      ],
      // PKCE with S256, for every client (not only public ones).
      pkce: { methods: ['S256'], required: () => true },
      // The default issueRefreshToken gives one when the client has the refresh_token grant
      // and offline_access was granted (which needs prompt=consent). A client may introspect
      // only its own tokens, so an active answer also proves whose credentials were used.
      features: {
        devInteractions: { enabled: true },
        introspection: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
        },
      },
      // Any login is accepted: the account is whatever name was typed.
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub }),
      }),
      ttl: {
        Interaction: 3600, Session: 3600, Grant: 3600, AuthorizationCode: 60,
        AccessToken: 600, IdToken: 600, RefreshToken: 3600,
      },
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
