// End to end: the real oauth-relayd over real TLS with a real PostgreSQL as its database (as
// in production), a real authorization server (oidc-provider), a real browser (Chromium via
// playwright-core) and an instance stand-in on openid-client.
// The operator's shared app is a confidential client whose secret only the relay holds: the
// instance redeems, refreshes and introspects its tokens through the relay's /v1/token.
// An instance the browser cannot reach picks its result up at the relay (pickup delivery)
// with a long-poll started before the person consents, or receives it from the relay in a
// signed POST to its own HTTPS receiver (push delivery).
//
// The expired-flow case needs more than 60 s of wall time, so its flow is created and the
// browser signs in (stopping at the consent page) before anything else; the other cases
// run meanwhile and the consent is given only once the flow has expired.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import * as oidc from 'openid-client';

import { consent, launch, newSession, signIn } from './lib/browser.mjs';
import { Instance } from './lib/instance.mjs';
import { httpsRequest, makeCa, makeCert } from './lib/net.mjs';
import { Postgres } from './lib/postgres.mjs';
import { AuthorizationServer } from './lib/provider.mjs';
import { Relay } from './lib/relay.mjs';

const EXPIRES_IN_MIN = 60;

let tmp;
let pg; // the relay's database
let relay;
let as;
let instance;
let browser;
let ca; // the test CA, PEM
let sharedApp; // { clientId, clientSecret }: the operator's shared app, its secret the relay's
let expired; // { flow, session } of the flow that is left to expire
const sessions = [];
const secretsSeen = new Set(); // codes, tokens, states, flow ids, pickup keys: never in the relay's log

async function session() {
  const s = await newSession(browser);
  sessions.push(s);
  return s;
}

// -- assertions shared by the cases ---------------------------------------------------------

/** The browser's responses from the relay's callback, headers resolved. */
async function callbackResponses(s, callbackUrl = instance.redirectUri) {
  const all = await s.settled();
  for (const r of all) {
    assert.ok(r.status !== 307 && r.status !== 308, `${r.status} from ${r.url}: 307/308 must never be used`);
  }
  return all.filter((r) => r.url.startsWith(`${callbackUrl}?`) || r.url === callbackUrl);
}

/** Exactly one callback response, with the given status and the security headers. */
async function theCallback(s, status, callbackUrl = instance.redirectUri) {
  const cbs = await callbackResponses(s, callbackUrl);
  assert.equal(cbs.length, 1, `callback responses: ${JSON.stringify(cbs.map((r) => [r.status, r.url]))}`);
  assertSecurityHeaders(cbs[0]);
  assert.equal(cbs[0].status, status, `callback answered ${cbs[0].status}, expected ${status}`);
  return cbs[0];
}

function assertSecurityHeaders(r) {
  const h = r.headers;
  assert.match(h['cache-control'] ?? '', /(^|,\s*)no-store(\s*,|$)/, `Cache-Control of ${r.status} callback response`);
  assert.equal(h['referrer-policy'], 'no-referrer', `Referrer-Policy of ${r.status} callback response`);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.ok(h['strict-transport-security'], 'Strict-Transport-Security on HTTPS');
  assert.match(h['content-security-policy'] ?? '', /default-src 'none'/);
}

/** What the authorization server sent to the relay (the callback's query). */
function sentByServer(cb, flow) {
  const sent = new URL(cb.url).searchParams;
  assert.equal(sent.get('state'), flow.state, 'the authorization server echoes the relay\'s state');
  assert.equal(sent.get('iss'), as.issuer, 'RFC 9207 iss in the authorization response');
  for (const [k, v] of sent) if (k !== 'error') secretsSeen.add(v); // codes, states, iss, descriptions
  return sent;
}

/** Every parameter the server sent is delivered verbatim, except state (swapped). */
function assertPassThrough(sent, delivered, flow) {
  assert.deepEqual([...delivered.keys()].sort(), [...sent.keys()].sort(), 'the same parameters');
  for (const [k, v] of sent) {
    if (k === 'state') assert.equal(delivered.get('state'), flow.expectedState, 'state swapped for the instance\'s');
    else assert.equal(delivered.get(k), v, `${k} delivered verbatim`);
  }
  assert.notEqual(delivered.get('state'), flow.state, 'the sealed token never reaches the instance');
  assert.equal(delivered.get('iss'), as.issuer, 'iss is the issuer the flow named');
}

/**
 * A shared app's flow whose result the relay keeps (pickup, push): `login` signs in and
 * consents; the browser stays on the relay's "Sign-in complete" page and never reaches the
 * instance (its return_url server or its push receiver). What the server sent.
 */
async function completeAtRelay(flow, login) {
  const deliveredBefore = instance.deliveries.length;
  const s = await session();
  await signIn(s.page, flow.authUrl, login);
  await consent(s.page, true);
  await s.page.waitForURL((u) => u.href.startsWith(`${relay.sharedCallbackUrl}?`));
  assert.equal(await s.page.locator('h1').textContent(), 'Sign-in complete');
  assert.equal(await s.page.locator('p').first().textContent(), 'You can close this window and return to Qorus.');
  const cb = await theCallback(s, 200, relay.sharedCallbackUrl);
  assert.equal(cb.headers.location, undefined, 'no redirect');
  assert.ok(s.page.url().startsWith(`${relay.sharedCallbackUrl}?`), `the browser stays on the relay, not ${s.page.url()}`);
  const sent = sentByServer(cb, flow);
  assert.ok(sent.get('code'), 'the server sent a code');
  const toInstance = (await s.settled())
    .filter((r) => r.url.startsWith(instance.origin) || r.url.startsWith(instance.pushOrigin));
  assert.deepEqual(toInstance.map((r) => r.url), [], 'the browser never reaches the instance');
  assert.equal(instance.deliveries.length, deliveredBefore, 'nothing delivered through the browser');
  return sent;
}

function assertTokens(tokens, login) {
  assert.equal(typeof tokens.access_token, 'string');
  assert.ok(tokens.access_token.length > 0, 'an access token');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(typeof tokens.id_token, 'string', 'an ID token');
  const claims = tokens.claims();
  assert.equal(claims.iss, as.issuer);
  assert.equal(claims.aud, as.clientId);
  assert.equal(claims.sub, login);
  secretsSeen.add(tokens.access_token);
  secretsSeen.add(tokens.id_token);
}

function remember(flow) {
  for (const v of [flow.state, flow.flow_id, flow.verifier, flow.pickup_key, flow.push_key]) if (v) secretsSeen.add(v);
}

/**
 * X-OAuth-Relay-Signature checked as an instance checks it (doc/protocol.md, Push), with
 * node:crypto alone: base64url without padding of HMAC-SHA256(push_key, "v1" LF ts LF
 * hex(SHA-256(body))), push_key base64url-decoded, compared in constant time.
 */
function pushSignatureValid(header, body, pushKey) {
  const m = /^v1 ts=(\d+), sig=([A-Za-z0-9_-]{43})$/.exec(header ?? '');
  if (!m) return false;
  const digest = createHash('sha256').update(body).digest('hex');
  const expected = createHmac('sha256', Buffer.from(pushKey, 'base64url'))
    .update(`v1\n${m[1]}\n${digest}`).digest('base64url');
  return timingSafeEqual(Buffer.from(expected), Buffer.from(m[2]));
}

/** A 200 token answer passed through by /v1/token: its JSON, whose secrets are remembered. */
function tokenAnswer(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  assertNoStore(res);
  assert.match(res.headers['content-type'], /^application\/json/);
  const t = res.json;
  assert.equal(t.token_type.toLowerCase(), 'bearer');
  assert.equal(typeof t.access_token, 'string');
  assert.ok(t.access_token.length > 0, `${what}: an access token`);
  assert.equal(typeof t.expires_in, 'number', 'expires_in passed through');
  for (const v of [t.access_token, t.refresh_token, t.id_token]) if (v) secretsSeen.add(v);
  return t;
}

function assertNoStore(res) {
  assert.match(res.headers['cache-control'] ?? '', /(^|,\s*)no-store(\s*,|$)/);
  assert.equal(res.headers.pragma, 'no-cache');
}

/** The ID token's claims (its signature is the server's business here; userinfo proves the access token). */
function idClaims(idToken) {
  return JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url'));
}

/** What Qore's RestClient sends to oauth2_alt_token_url for a shared app's code: its client_secret is 'auto'. */
function redemption(flow, code) {
  return {
    grant_type: 'authorization_code', client_id: sharedApp.clientId, client_secret: 'auto',
    code, redirect_uri: flow.redirect_uri, code_verifier: flow.verifier,
    oauth2_token_url: as.tokenEndpoint,
  };
}

/** The authorization server's userinfo for an access token, asked directly: { status, json }. */
async function userinfo(accessToken) {
  const res = await httpsRequest(as.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` }, ca });
  return { status: res.status, json: JSON.parse(res.body) };
}

describe('oauth-relay end to end', () => {
  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'oauth-relay-e2e-'));
    const testCa = makeCa(tmp);
    ca = readFileSync(testCa.cert);
    sharedApp = { clientId: 'qorus-shared', clientSecret: randomBytes(24).toString('base64url') };
    secretsSeen.add(sharedApp.clientSecret);
    // The server listens first: the relay's [app e2e] names its endpoints.
    as = await new AuthorizationServer(makeCert(tmp, testCa, 'as')).listen();
    // The relay runs with a database, as in production (push needs one).
    pg = await new Postgres(tmp).start();
    relay = await new Relay(tmp, makeCert(tmp, testCa, 'relay'), testCa, sharedApp, as, pg).start();
    // The instance registers next: its OAuth client at the server gets the instance's own
    // callback as redirect_uri, as an administrator would enter it.
    instance = new Instance(relay, null, ca);
    await instance.register();
    as.configure(instance.redirectUri, { ...sharedApp, redirectUri: relay.sharedCallbackUrl });
    instance.as = as;
    await instance.start();
    // Its push receiver: HTTPS with a certificate from the CA the relay trusts.
    await instance.startPushReceiver(makeCert(tmp, testCa, 'instance'));
    browser = await launch();

    const flow = await instance.createFlow({
      delivery: 'redirect', instanceState: 'qorus-expired', expiresIn: EXPIRES_IN_MIN,
    });
    const s = await session();
    await signIn(s.page, flow.authUrl, 'carol');
    expired = { flow, session: s };
  }, { timeout: 60000 });

  after(async () => {
    for (const s of sessions) await s.close().catch(() => {});
    await browser?.close().catch(() => {});
    await instance?.stop().catch(() => {});
    await as?.stop().catch(() => {});
    relay?.kill();
    await pg?.stop().catch(() => {});
    if (tmp && !process.env.E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
  });

  // -- cases ----------------------------------------------------------------------------------

  test('success with redirect delivery: 303 to return_url, code exchanged for tokens', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({ delivery: 'redirect', instanceState: 'qorus-redirect' });
    remember(flow);
    assert.equal(flow.redirect_uri, instance.redirectUri);
    assert.equal(flow.return_url, instance.returnUrl);
    assert.equal(flow.expires_in, 600, 'default lifetime');

    const s = await session();
    await signIn(s.page, flow.authUrl, 'alice');
    await consent(s.page, true);
    const delivery = await instance.waitForDelivery('qorus-redirect');
    await s.page.waitForURL((u) => u.origin === instance.origin);
    assert.equal(await s.page.locator('#received').textContent(), 'Authorization received');

    const cb = await theCallback(s, 303);
    assert.equal(cb.headers.location, delivery.url, 'Location is where the browser went');
    const sent = sentByServer(cb, flow);
    assert.ok(sent.get('code'), 'the server sent a code');

    assert.equal(delivery.method, 'GET');
    assert.equal(delivery.query.get('connection'), 'e2e', 'return_url\'s own query is kept');
    assert.ok(delivery.url.startsWith(`${instance.returnUrl}&`), 'parameters appended to the existing query');
    assertPassThrough(sent, delivery.params, flow);
    assert.equal(instance.deliveriesFor('qorus-redirect').length, 1);

    assertTokens(await instance.exchange(flow, delivery), 'alice');
  });

  test('success with form_post delivery: auto-submitted POST, state = flow_id, tokens', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({ delivery: 'form_post' }); // no instance_state
    remember(flow);
    assert.equal(flow.expectedState, flow.flow_id);

    const s = await session();
    await signIn(s.page, flow.authUrl, 'bob');
    await consent(s.page, true);
    const delivery = await instance.waitForDelivery(flow.flow_id);
    await s.page.waitForURL((u) => u.origin === instance.origin);

    const cb = await theCallback(s, 200);
    assert.match(cb.headers['content-type'], /^text\/html/);
    assert.equal(cb.headers.location, undefined, 'no Location on a form_post page');
    const csp = cb.headers['content-security-policy'];
    assert.match(csp, new RegExp(`form-action ${instance.origin.replace(/[.]/g, '\\.')}(;|$)`), `form-action limited to the return origin: ${csp}`);
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9_-]+'/, 'the auto-submit script runs under a nonce');
    const sent = sentByServer(cb, flow);

    assert.equal(delivery.method, 'POST');
    assert.match(delivery.contentType, /^application\/x-www-form-urlencoded/);
    assert.deepEqual([...delivery.query.keys()], ['connection'], 'the code stays out of the URL');
    assertPassThrough(sent, delivery.params, flow);
    assert.equal(delivery.params.get('state'), flow.flow_id);
    assert.equal(instance.deliveriesFor(flow.flow_id).length, 1);

    assertTokens(await instance.exchange(flow, delivery), 'bob');
  });

  test('the user denies consent: error=access_denied is delivered to the instance', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({ delivery: 'redirect', instanceState: 'qorus-denied' });
    remember(flow);

    const s = await session();
    await signIn(s.page, flow.authUrl, 'dave');
    await consent(s.page, false);
    const delivery = await instance.waitForDelivery('qorus-denied');
    await s.page.waitForURL((u) => u.origin === instance.origin);

    const cb = await theCallback(s, 303); // delivered, not a relay error page
    assert.equal(cb.headers.location, delivery.url);
    const sent = sentByServer(cb, flow);
    assert.equal(sent.get('error'), 'access_denied');
    assert.equal(sent.get('code'), null);

    assertPassThrough(sent, delivery.params, flow);
    assert.equal(delivery.params.get('error'), 'access_denied');
    assert.equal(delivery.params.get('error_description'), sent.get('error_description'));
    // openid-client checks iss and state, then reports the server's error.
    await assert.rejects(instance.exchange(flow, delivery), (err) => {
      assert.equal(err.error, 'access_denied', `${err.name}: ${err.message}`);
      return true;
    });
  });

  test('replayed callback: 409 page, no second delivery', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({ delivery: 'redirect', instanceState: 'qorus-replay' });
    remember(flow);

    const s = await session();
    const callbackUrls = [];
    s.page.on('request', (req) => {
      if (req.url().startsWith(`${instance.redirectUri}?`)) callbackUrls.push(req.url());
    });
    await signIn(s.page, flow.authUrl, 'erin');
    await consent(s.page, true);
    const delivery = await instance.waitForDelivery('qorus-replay');
    await s.page.waitForURL((u) => u.origin === instance.origin);
    const first = await theCallback(s, 303);
    sentByServer(first, flow);
    assert.equal(callbackUrls.length, 1);
    assert.equal(callbackUrls[0], first.url);

    // The person presses Back / reopens the exact callback URL.
    const res = await s.page.goto(callbackUrls[0]);
    assert.equal(res.status(), 409);
    assert.equal(res.request().redirectedFrom(), null);
    assert.equal(s.page.url(), callbackUrls[0], 'the browser stays on the relay');
    assert.equal(await s.page.locator('h1').textContent(), 'This sign-in was already completed');
    const all = await callbackResponses(s);
    assert.equal(all.length, 2);
    assertSecurityHeaders(all[1]);
    assert.equal(all[1].status, 409);
    assert.equal(all[1].headers.location, undefined, 'no redirect for a replay');
    assert.equal(instance.deliveriesFor('qorus-replay').length, 1, 'no second delivery');

    // The first delivery was a real one.
    assertTokens(await instance.exchange(flow, delivery), 'erin');
  });

  test('mix-up defence: a response from another issuer than the flow named is not delivered as a code', { timeout: 30000 }, async () => {
    // The flow names a different authorization server than the one that answers (RFC 9207).
    const flow = await instance.createFlow({
      delivery: 'redirect', instanceState: 'qorus-mixup', issuer: 'https://login.salesforce.com',
    });
    remember(flow);

    const s = await session();
    await signIn(s.page, flow.authUrl, 'frank');
    await consent(s.page, true);
    const delivery = await instance.waitForDelivery('qorus-mixup');
    await s.page.waitForURL((u) => u.origin === instance.origin);

    const cb = await theCallback(s, 303);
    const sent = sentByServer(cb, flow);
    assert.ok(sent.get('code'), 'the server did send a code');
    assert.deepEqual(Object.fromEntries(delivery.params), {
      error: 'invalid_request', error_description: 'issuer mismatch', state: 'qorus-mixup',
    }, 'only the mismatch error reaches the instance, never the code');
  });

  test('stolen state: another instance\'s flow at this client\'s callback delivers nothing', { timeout: 30000 }, async () => {
    // The attack of issue 11: a second registered instance creates a flow returning to
    // itself and sends the person to the victim's OAuth client (the victim's redirect_uri)
    // with that flow's state. The person consents; the code must not reach the attacker.
    const attacker = new Instance(relay, as, ca);
    await attacker.start();
    try {
      const flow = await attacker.createFlow({
        delivery: 'redirect', instanceState: 'attacker-loot', redirectUri: instance.redirectUri,
      });
      remember(flow);
      assert.notEqual(flow.redirect_uri, instance.redirectUri, 'each instance has its own callback');
      const s = await session();
      await signIn(s.page, flow.authUrl, 'victim');
      await consent(s.page, true);
      await s.page.waitForURL((u) => u.href.startsWith(`${instance.redirectUri}?`) || u.origin === attacker.origin);
      assert.equal(await s.page.locator('h1').textContent(), 'This sign-in came back to the wrong address');
      const cb = await theCallback(s, 400);
      assert.equal(cb.headers.location, undefined, 'no redirect for another instance\'s state');
      sentByServer(cb, flow);
      assert.equal(attacker.deliveries.length, 0, 'the attacker receives nothing');
      assert.equal(instance.deliveriesFor('attacker-loot').length, 0);
    } finally {
      await attacker.stop();
    }
  });

  test('shared app: consent at the shared callback, code redeemed, refreshed and introspected through /v1/token', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({
      delivery: 'redirect', instanceState: 'qorus-shared', clientId: sharedApp.clientId,
      scope: 'openid offline_access', prompt: 'consent',
    });
    remember(flow);
    assert.equal(flow.redirect_uri, relay.sharedCallbackUrl);
    const s = await session();
    await signIn(s.page, flow.authUrl, 'grace');
    await consent(s.page, true);
    const delivery = await instance.waitForDelivery('qorus-shared');
    const cb = await theCallback(s, 303, relay.sharedCallbackUrl);
    assertPassThrough(sentByServer(cb, flow), delivery.params, flow);
    const code = delivery.params.get('code');
    assert.ok(code, 'a code delivered');

    const redeem = redemption(flow, code);
    // The instance's 'auto' is no secret: the server itself refuses it (as the Basic secret;
    // the relay authenticates the same way). Client authentication comes before the code is
    // looked at, so the code stays unspent for the relay.
    const { client_secret: _auto, oauth2_token_url: _url, ...standard } = redeem;
    const direct = await httpsRequest(as.tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${sharedApp.clientId}:auto`).toString('base64')}`,
      },
      body: new URLSearchParams(standard).toString(),
      ca,
    });
    assert.equal(direct.status, 401, `directly with client_secret=auto: ${direct.status} ${direct.body}`);
    assert.equal(JSON.parse(direct.body).error, 'invalid_client');

    const tokens = tokenAnswer(await instance.token(redeem), 'the code through /v1/token');
    assert.equal(typeof tokens.refresh_token, 'string', 'a refresh token (offline_access)');
    const claims = idClaims(tokens.id_token);
    assert.equal(claims.iss, as.issuer);
    assert.equal(claims.aud, sharedApp.clientId);
    assert.equal(claims.sub, 'grace');
    assert.deepEqual(await userinfo(tokens.access_token), { status: 200, json: { sub: 'grace' } },
      'the server knows the access token');

    const refreshed = tokenAnswer(await instance.token({
      grant_type: 'refresh_token', client_id: sharedApp.clientId, client_secret: 'auto',
      refresh_token: tokens.refresh_token, oauth2_token_url: as.tokenEndpoint,
    }), 'the refresh through /v1/token');
    assert.notEqual(refreshed.access_token, tokens.access_token, 'a new access token');
    assert.deepEqual(await userinfo(refreshed.access_token), { status: 200, json: { sub: 'grace' } });

    // Older clients omit oauth2_token_url on refresh: the app's first token_urls entry.
    const again = tokenAnswer(await instance.token({
      grant_type: 'refresh_token', client_id: sharedApp.clientId, client_secret: 'auto',
      refresh_token: refreshed.refresh_token ?? tokens.refresh_token,
    }), 'the refresh without oauth2_token_url');
    assert.notEqual(again.access_token, refreshed.access_token);

    // Introspection: the app's introspect_urls, the relay's credentials.
    let res = await instance.token({
      oauth2_operation: 'introspect', client_id: sharedApp.clientId, client_secret: 'auto',
      token: refreshed.access_token,
    });
    assert.equal(res.status, 200, `introspection: ${res.status} ${res.text}`);
    assertNoStore(res);
    assert.equal(res.json.active, true, `introspection: ${res.text}`);
    assert.equal(res.json.client_id, sharedApp.clientId);
    assert.equal(res.json.sub, 'grace');
    assert.equal(res.json.token_type, 'Bearer');

    // A replayed code: the server's own error comes back verbatim, and (RFC 6749 §4.1.2) the
    // server revokes what that code granted, which introspection then reports. (A new
    // request, without oauth2_token_url: resending the same signed bytes within the same
    // second would be refused by the relay as a reused signature, before any upstream call.)
    const { oauth2_token_url: _tokenUrl, ...replay } = redeem;
    res = await instance.token(replay);
    assert.equal(res.status, 400, `replayed code: ${res.status} ${res.text}`);
    assertNoStore(res);
    assert.equal(res.json.error, 'invalid_grant');
    // (token_type_hint, forwarded as it is, makes this a request other than the first.)
    res = await instance.token({
      oauth2_operation: 'introspect', client_id: sharedApp.clientId, client_secret: 'auto',
      token: refreshed.access_token, token_type_hint: 'access_token',
    });
    assert.equal(res.status, 200, `introspection after the replay: ${res.status} ${res.text}`);
    assert.deepEqual(res.json, { active: false }, 'the replay revoked the grant');
  });

  test('stolen state at the shared callback: an instance\'s own flow is not answered there', { timeout: 30000 }, async () => {
    // The attacker's flow names no shared app (its answer belongs at its own callback), but
    // its state is put into an authorization request for the shared app's client.
    const attacker = new Instance(relay, as, ca);
    await attacker.start();
    try {
      const flow = await attacker.createFlow({ delivery: 'redirect', instanceState: 'attacker-shared' });
      remember(flow);
      const stolen = oidc.buildAuthorizationUrl(attacker.sharedConfig, {
        redirect_uri: relay.sharedCallbackUrl,
        scope: 'openid',
        state: flow.state,
        code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
      });
      const s = await session();
      await signIn(s.page, stolen.href, 'heidi');
      await consent(s.page, true);
      await s.page.waitForURL((u) => u.href.startsWith(`${relay.sharedCallbackUrl}?`) || u.origin === attacker.origin);
      assert.equal(await s.page.locator('h1').textContent(), 'This sign-in came back to the wrong address');
      const cb = await theCallback(s, 400, relay.sharedCallbackUrl);
      assert.equal(cb.headers.location, undefined);
      sentByServer(cb, flow);
      assert.equal(attacker.deliveries.length, 0, 'the attacker receives nothing');
    } finally {
      await attacker.stop();
    }
  });

  test('pickup delivery: the complete page, the waiting pickup answered, the code redeemed through /v1/token', { timeout: 45000 }, async () => {
    // An instance the browser cannot reach: no return_url; the shared app's code is
    // redeemed through the relay, as an instance behind a firewall would.
    const flow = await instance.createFlow({
      delivery: 'pickup', returnUrl: null, instanceState: 'qorus-pickup', clientId: sharedApp.clientId,
    });
    remember(flow);
    assert.equal(flow.return_url, undefined);
    assert.equal(flow.pickup_url, `${relay.origin}/v1/flows/${flow.flow_id}/result`);

    // The instance waits before the person has even signed in; a wrong key meanwhile is
    // an unknown flow and leaves the waiter alone.
    const picked = instance.pickup(flow, { wait: 30 });
    await relay.waitPickupsWaiting(1);
    const wrong = await instance.pickup(flow, { key: randomBytes(32).toString('base64url') });
    assert.equal(wrong.status, 404, `a wrong key: ${wrong.status} ${wrong.text}`);
    assert.equal(wrong.json.error, 'not_found');
    await relay.waitPickupsWaiting(1);

    const sent = await completeAtRelay(flow, 'ivan');

    const res = await picked;
    assert.equal(res.status, 200, `the waiting pickup: ${res.status} ${res.text}`);
    assert.match(res.headers['cache-control'] ?? '', /(^|,\s*)no-store(\s*,|$)/);
    assert.deepEqual(res.json.params.map(([k]) => k), [...sent.keys()], 'every parameter, in the server\'s order');
    const params = new URLSearchParams(res.json.params);
    assertPassThrough(sent, params, flow);
    assert.equal(params.get('state'), 'qorus-pickup');

    const tokens = tokenAnswer(await instance.token(redemption(flow, params.get('code'))), 'the picked-up code through /v1/token');
    const claims = idClaims(tokens.id_token);
    assert.equal(claims.aud, sharedApp.clientId);
    assert.equal(claims.sub, 'ivan');
    assert.deepEqual(await userinfo(tokens.access_token), { status: 200, json: { sub: 'ivan' } });

    const again = await instance.pickup(flow, { wait: 0 }); // not the wrong key's signed bytes
    assert.equal(again.status, 409, `a second pickup: ${again.status} ${again.text}`);
    assert.equal(again.json.error, 'already_picked_up');
  });

  test('pickup with a wrong key: 404 as for an unknown flow, and the result is still there', { timeout: 30000 }, async () => {
    const flow = await instance.createFlow({ delivery: 'pickup', returnUrl: null });
    remember(flow);
    const s = await session();
    await signIn(s.page, flow.authUrl, 'judy');
    await consent(s.page, true);
    await s.page.waitForURL((u) => u.href.startsWith(`${instance.redirectUri}?`));
    assert.equal(await s.page.locator('h1').textContent(), 'Sign-in complete');
    const sent = sentByServer(await theCallback(s, 200), flow);

    const unknown = await instance.pickup({ ...flow, flow_id: randomBytes(16).toString('base64url') });
    assert.equal(unknown.status, 404, `an unknown flow: ${unknown.status} ${unknown.text}`);
    // The key is not signed: each wrong attempt asks with another wait, so that no two
    // requests are the same signed bytes (the relay refuses a reused signature).
    for (const [wait, key] of [[undefined, randomBytes(32).toString('base64url')], [0, 'not a key']]) {
      const wrong = await instance.pickup(flow, { wait, key });
      assert.equal(wrong.status, 404, `key ${key}: ${wrong.status} ${wrong.text}`);
      assert.equal(wrong.text, unknown.text, 'the same body as for an unknown flow');
    }

    const res = await instance.pickup(flow, { wait: 1 }); // the result is there: no wait
    assert.equal(res.status, 200, `the right key after wrong ones: ${res.status} ${res.text}`);
    const params = new URLSearchParams(res.json.params);
    assertPassThrough(sent, params, flow);
    assert.equal(params.get('state'), flow.flow_id, 'no instance_state: the flow id');
    assertTokens(await instance.exchange(flow, { params }), 'judy');
  });

  test('push delivery: the complete page, one signed POST to the instance, the code redeemed through /v1/token', { timeout: 45000 }, async () => {
    // An instance that accepts inbound HTTPS where the browser cannot reach it: the relay
    // itself POSTs the result to return_url; the shared app's code is redeemed through the relay.
    const flow = await instance.createFlow({
      delivery: 'push', returnUrl: instance.pushUrl, instanceState: 'qorus-push', clientId: sharedApp.clientId,
    });
    remember(flow);
    assert.equal(flow.return_url, instance.pushUrl);
    assert.equal(flow.pickup_url, `${relay.origin}/v1/flows/${flow.flow_id}/result`);
    assert.equal(flow.pickup_key, undefined, 'the push key is the only key');
    assert.equal(Buffer.from(flow.push_key, 'base64url').length, 32, 'a 32-byte push key');
    const pushedBefore = instance.pushes.length;

    const sent = await completeAtRelay(flow, 'kate');

    const push = await instance.waitForPush(flow.flow_id);
    const receivedAt = Date.now();
    assert.equal(push.method, 'POST');
    assert.equal(`${instance.pushOrigin}${push.target}`, instance.pushUrl, 'to return_url, its query kept');
    assert.equal(push.headers['content-type'], 'application/json');
    const body = JSON.parse(push.body);
    assert.deepEqual(Object.keys(body), ['flow_id', 'params']);
    assert.equal(body.flow_id, flow.flow_id);
    assert.deepEqual(body.params.map(([k]) => k), [...sent.keys()], 'every parameter, in the server\'s order');
    const params = new URLSearchParams(body.params);
    assertPassThrough(sent, params, flow);
    assert.equal(params.get('state'), 'qorus-push');

    // The signature, checked as the instance does, with nothing of the relay's code.
    const header = push.headers['x-oauth-relay-signature'];
    assert.equal(pushSignatureValid(header, push.body, flow.push_key), true, `the signature verifies: ${header}`);
    assert.equal(pushSignatureValid(header, push.body, randomBytes(32).toString('base64url')), false, 'not with another key');
    const altered = Buffer.from(push.body);
    altered[altered.length - 2] ^= 1;
    assert.equal(pushSignatureValid(header, altered, flow.push_key), false, 'not for another body');
    const ts = Number(/ ts=(\d+),/.exec(header)[1]);
    assert.ok(ts >= Math.floor(flow.createdAt / 1000) && ts <= Math.ceil(receivedAt / 1000),
      `ts ${ts} is the time of sending, between the flow's creation and the receipt`);

    // The relay has taken the 204 as the delivery (and queued marking the result picked up
    // before any later request's query, on its one database connection).
    await relay.waitMetric('oauth_relay_push_attempts_total{outcome="delivered"}', 1);

    const tokens = tokenAnswer(await instance.token(redemption(flow, params.get('code'))), 'the pushed code through /v1/token');
    const claims = idClaims(tokens.id_token);
    assert.equal(claims.aud, sharedApp.clientId);
    assert.equal(claims.sub, 'kate');
    assert.deepEqual(await userinfo(tokens.access_token), { status: 200, json: { sub: 'kate' } });

    // Delivered means picked up: the push key picks nothing up any more.
    const picked = await instance.pickup(flow, { key: flow.push_key, wait: 0 });
    assert.equal(picked.status, 409, `a pickup after the push: ${picked.status} ${picked.text}`);
    assert.equal(picked.json.error, 'already_picked_up');
    assert.deepEqual(instance.pushes.slice(pushedBefore), [push], 'exactly one request to the receiver');
    assert.equal(await relay.metric('oauth_relay_push_attempts_total{outcome="failed"}'), 0, 'no failed attempt');
  });

  test('expired flow: consent after expires_in lands on the 410 page, nothing delivered', { timeout: 120000 }, async () => {
    const { flow, session: s } = expired;
    remember(flow);
    assert.equal(flow.expires_in, EXPIRES_IN_MIN);
    // The relay rounds to whole seconds: wait until its expires_at has certainly passed.
    const until = Math.max(flow.createdAt + (EXPIRES_IN_MIN + 1) * 1000, Date.parse(flow.expires_at) + 1000);
    const remaining = until - Date.now();
    if (remaining > 0) await delay(remaining);

    const deliveredBefore = instance.deliveries.length;
    await consent(s.page, true);
    await s.page.waitForURL((u) => u.href.startsWith(`${instance.redirectUri}?`) || u.origin === instance.origin);
    assert.ok(s.page.url().startsWith(`${instance.redirectUri}?`), `the browser stays on the relay, not ${s.page.url()}`);
    assert.equal(await s.page.locator('h1').textContent(), 'This sign-in took too long');
    assert.match(await s.page.locator('p').first().textContent(), /start the authorization again from Qorus/i);

    const cb = await theCallback(s, 410);
    assert.equal(cb.headers.location, undefined, 'no redirect for an expired flow');
    sentByServer(cb, flow);
    assert.equal(instance.deliveries.length, deliveredBefore, 'the instance receives nothing');
    assert.equal(instance.deliveriesFor('qorus-expired').length, 0);
  });

  test('the relay exits 0 on SIGTERM, and its log holds no code, token, state, flow id, delivery key or secret', { timeout: 30000 }, async () => {
    assert.ok(relay.alive(), 'the relay is still running after all cases');
    const exit = await relay.stop();
    const log = relay.log();
    assert.deepEqual(exit, { code: 0, signal: null }, `oauth-relayd exit: ${JSON.stringify(exit)}\n${log}`);
    assert.ok(secretsSeen.size >= 10);
    for (const secret of secretsSeen) {
      assert.ok(!log.includes(secret), `the relay log contains ${secret}`);
    }
    for (const marker of [instance.returnUrl, '127.0.0.1:' + new URL(instance.origin).port, instance.id,
      instance.pushUrl, new URL(instance.pushOrigin).host, as.tokenEndpoint, `localhost:${as.port}`,
      sharedApp.clientId]) {
      assert.ok(!log.includes(marker), `the relay log contains ${marker}`);
    }
    // What it does log of the token delegate: the app, the grant, the outcome, the status.
    for (const grant of ['authorization_code', 'refresh_token']) {
      assert.match(log, new RegExp(`event=token app=e2e grant=${grant} .*outcome=ok status=200`), `a ${grant} line`);
    }
    assert.match(log, /event=token app=e2e grant=authorization_code .*outcome=upstream_error status=400/, 'the replayed code');
    // Of pickups: the outcome and the status only.
    for (const [outcome, status] of [['delivered', 200], ['not_found', 404], ['conflict', 409]]) {
      assert.match(log, new RegExp(`event=pickup outcome=${outcome} status=${status}$`, 'm'), `a pickup ${outcome} line`);
    }
    // Of pushes: the outcome only.
    assert.match(log, /event=push outcome=delivered$/m, 'a push delivered line');
  });
});
