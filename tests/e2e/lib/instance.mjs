// The instance stand-in (what a Qorus instance does), built on npm openid-client:
// registers at the relay, creates signed flows, builds the authorization URL with PKCE,
// receives redirect and form_post deliveries on a small local HTTP server (its return_url),
// picks the result up at the relay (pickup delivery) or receives the relay's POST on a
// local HTTPS server (push delivery), checks state and iss, and exchanges the code with the
// authorization server directly (its own client) or through the relay's signed /v1/token
// (the shared app, whose secret it never has).
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

import * as oidc from 'openid-client';

import { fetchTrusting, httpsRequest } from './net.mjs';

/** X-OAuth-Signature for one request (doc/design.md §2 "Signed requests"). */
export function signature(id, secret, method, target, body, ts = Math.floor(Date.now() / 1000)) {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const message = `v1\n${ts}\n${method}\n${target}\n${bodyHash}`;
  const sig = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message).digest('base64url');
  return `v1 id=${id}, ts=${ts}, sig=${sig}`;
}

/** Keeps `item` in `items` and hands it to the waiters it matches (they leave `waiters`). */
function arrived(items, waiters, item) {
  items.push(item);
  for (const w of waiters.filter((x) => x.match(item))) {
    waiters.splice(waiters.indexOf(w), 1);
    w.resolve(item);
  }
}

/** The first of `items` that matches, already there or still to come (through `waiters`). */
function firstMatch(items, waiters, match, what, timeoutMs) {
  const found = items.find(match);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(waiter), 1);
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const waiter = { match, resolve: (item) => { clearTimeout(timer); resolve(item); } };
    waiters.push(waiter);
  });
}

export class Instance {
  /** relay: a started Relay; as: a started AuthorizationServer; ca: PEM both present. */
  constructor(relay, as, ca) {
    this.relay = relay;
    this.as = as;
    this.ca = ca;
    this.deliveries = [];
    this.waiters = [];
    this.server = null;
    this.pushes = [];
    this.pushWaiters = [];
    this.pushServer = null;
  }

  async start() {
    this.server = http.createServer((req, res) => this.receive(req, res));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    // A return URL that already has a query: the relay must merge its parameters into it.
    this.returnUrl = `${this.origin}/oauth2/code?connection=e2e`;
    this.config = await this.discover(this.as.clientId, oidc.ClientSecretBasic(this.as.clientSecret));
    // The operator's shared app: only its public client_id, for authorization URLs.
    this.sharedConfig = await this.discover(this.as.shared.clientId, oidc.None());
    if (!this.id) await this.register();
    return this;
  }

  discover(clientId, clientAuth) {
    return oidc.discovery(new URL(this.as.issuer), clientId, undefined,
      clientAuth, { [oidc.customFetch]: fetchTrusting(this.ca) });
  }

  /**
   * The push receiver: an HTTPS server on 127.0.0.1 with `cert` ({ cert, key }, from the
   * test CA, which the relay trusts through outbound_ca_file). pushUrl, its return_url,
   * names it localhost, as the certificate does.
   */
  async startPushReceiver(cert) {
    this.pushServer = https.createServer({
      cert: readFileSync(cert.cert),
      key: readFileSync(cert.key),
    }, (req, res) => this.receivePush(req, res));
    await new Promise((resolve, reject) => {
      this.pushServer.once('error', reject);
      this.pushServer.listen(0, '127.0.0.1', resolve);
    });
    this.pushOrigin = `https://localhost:${this.pushServer.address().port}`;
    // A query of its own, which the relay must keep.
    this.pushUrl = `${this.pushOrigin}/oauth2/push?connection=e2e`;
    return this;
  }

  async stop() {
    for (const name of ['server', 'pushServer']) {
      const server = this[name];
      if (!server) continue;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
      this[name] = null;
    }
  }

  /** POST /v1/instances (open registration): the credentials and the instance's own callback. */
  async register() {
    const res = await httpsRequest(`${this.relay.origin}/v1/instances`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', ca: this.ca,
    });
    if (res.status !== 201) throw new Error(`POST /v1/instances: ${res.status} ${res.body}`);
    const creds = JSON.parse(res.body);
    this.id = creds.instance_id;
    this.secret = creds.instance_secret;
    this.redirectUri = creds.redirect_uri;
  }

  /** A signed JSON request to the relay: { status, headers, json, text }. */
  signed(method, target, payload) {
    return this.signedBody(method, target, JSON.stringify(payload), 'application/json');
  }

  /**
   * POST /v1/token, signed like every instance request: `fields` as the form body, in
   * order (what Qore's RestClient sends to oauth2_alt_token_url). { status, headers, json, text }.
   */
  token(fields) {
    return this.signedBody('POST', '/v1/token', new URLSearchParams(fields).toString(),
      'application/x-www-form-urlencoded');
  }

  /**
   * GET /v1/flows/{flow_id}/result?wait=S (pickup delivery), signed, with the flow's
   * pickup key unless another `key` is given. { status, headers, json, text }.
   */
  pickup(flow, { wait, key = flow.pickup_key } = {}) {
    const target = `/v1/flows/${flow.flow_id}/result${wait === undefined ? '' : `?wait=${wait}`}`;
    return this.signedBody('GET', target, '', undefined, { 'x-oauth-pickup-key': key });
  }

  async signedBody(method, target, body, contentType, headers = {}) {
    const res = await httpsRequest(`${this.relay.origin}${target}`, {
      method,
      headers: {
        ...(contentType !== undefined && { 'content-type': contentType }),
        'content-length': String(Buffer.byteLength(body)),
        'x-oauth-signature': signature(this.id, this.secret, method, target, body),
        ...headers,
      },
      body,
      ca: this.ca,
    });
    let json;
    try { json = JSON.parse(res.body); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text: res.body.toString() };
  }

  /**
   * POST /v1/flows naming `issuer` (default: the real one), then the authorization URL at
   * the real authorization server. Returns the relay's answer plus
   * { authUrl, verifier, expectedState, createdAt }. redirectUri replaces the relay's
   * redirect_uri in the authorization URL (what an attacker would do); clientId names the
   * shared app, whose client the authorization URL is then for; scope and prompt go into
   * the authorization URL (offline_access needs prompt=consent); returnUrl null leaves
   * return_url out (pickup).
   */
  async createFlow({
    delivery, instanceState, expiresIn, issuer = this.as.issuer, redirectUri, clientId,
    scope = 'openid', prompt, returnUrl = this.returnUrl,
  }) {
    const body = {
      ...(returnUrl !== null && { return_url: returnUrl }),
      delivery,
      authorization_server: issuer,
      ...(clientId !== undefined && { client_id: clientId }),
      ...(expiresIn !== undefined && { expires_in: expiresIn }),
      ...(instanceState !== undefined && { instance_state: instanceState }),
    };
    const createdAt = Date.now();
    const res = await this.signed('POST', '/v1/flows', body);
    if (res.status !== 201) throw new Error(`POST /v1/flows: ${res.status} ${res.text}`);
    const flow = res.json;
    const verifier = oidc.randomPKCECodeVerifier();
    const config = clientId ? this.sharedConfig : this.config;
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri ?? flow.redirect_uri,
      scope,
      state: flow.state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(prompt !== undefined && { prompt }),
    });
    return {
      ...flow,
      config,
      authUrl: authUrl.href,
      verifier,
      expectedState: instanceState ?? flow.flow_id,
      createdAt,
    };
  }

  /** The return_url endpoint: GET (redirect delivery) or POST form (form_post delivery). */
  receive(req, res) {
    const url = new URL(req.url, this.origin);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname !== '/oauth2/code' || !['GET', 'POST'].includes(req.method)) {
        res.writeHead(404).end();
        return;
      }
      const form = req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString()) : null;
      // The OAuth parameters: the form for form_post, else the query minus our own.
      const params = new URLSearchParams(form ?? url.searchParams);
      if (!form) params.delete('connection');
      const delivery = {
        method: req.method,
        url: url.href,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        form,
        params,
      };
      arrived(this.deliveries, this.waiters, delivery);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Qorus</title><h1 id="received">Authorization received</h1>');
    });
  }

  /** The first delivery whose state is `state` (already received or still to come). */
  waitForDelivery(state, timeoutMs = 15000) {
    return firstMatch(this.deliveries, this.waiters, (d) => d.params.get('state') === state,
      `delivery with state ${state}`, timeoutMs);
  }

  deliveriesFor(state) {
    return this.deliveries.filter((d) => d.params.get('state') === state);
  }

  /**
   * The push receiver's endpoint: records every request, whatever it is, as
   * { method, target, headers, body (Buffer), flowId (from a JSON body, else undefined) },
   * and answers a POST to pushUrl's path 204 (any 2xx is a delivery), anything else 404.
   */
  receivePush(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let flowId;
      try { flowId = JSON.parse(body).flow_id; } catch { flowId = undefined; }
      const push = { method: req.method, target: req.url, headers: req.headers, body, flowId };
      arrived(this.pushes, this.pushWaiters, push);
      const ok = req.method === 'POST' && new URL(req.url, this.pushOrigin).pathname === '/oauth2/push';
      res.writeHead(ok ? 204 : 404).end();
    });
  }

  /** The first push for `flowId` (already received or still to come). */
  waitForPush(flowId, timeoutMs = 15000) {
    return firstMatch(this.pushes, this.pushWaiters, (p) => p.flowId === flowId,
      `push for flow ${flowId}`, timeoutMs);
  }

  /**
   * What the instance does with a delivery: openid-client validates the response against the
   * issuer's metadata (iss must equal the issuer, state must equal what this instance expects),
   * then exchanges the code at the token endpoint with the PKCE verifier and
   * redirect_uri = the relay's callback (the URL the authorization server redirected to).
   * Rejects with openid-client's AuthorizationResponseError for an error response.
   */
  exchange(flow, delivery) {
    const currentUrl = new URL(flow.redirect_uri);
    for (const [k, v] of delivery.params) currentUrl.searchParams.append(k, v);
    return oidc.authorizationCodeGrant(flow.config, currentUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.expectedState,
      idTokenExpected: true,
    });
  }
}
