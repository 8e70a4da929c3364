// Self-test of the OIDC provider: node --test end2end/support/oidc-provider.test.mjs
// Runs the whole authorization code flow the way a client without JavaScript does:
// plain fetch, redirect: 'manual', a tiny cookie jar, PKCE S256 and a nonce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import crypto from 'node:crypto';

const PROVIDER = fileURLToPath(new URL('./oidc-provider.mjs', import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // never fetched

async function startProvider(args = []) {
  const child = spawn(process.execPath, [PROVIDER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`provider exited early with ${code}`);
    }),
  ]);
  const ready = JSON.parse(line);
  const extra = [];
  lines.on('line', (l) => extra.push(l));
  return { child, ready, extra };
}

function exited(child, ms = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return Promise.race([
    once(child, 'exit').then(([code, signal]) => ({ code, signal })),
    new Promise((_, reject) => setTimeout(() => reject(new Error('provider did not exit')), ms).unref()),
  ]);
}

/** A cookie jar that honours Path (everything here is one host). */
class Jar {
  #cookies = new Map(); // `${path}\t${name}` → {name, value, path}

  store(res) {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        if (k.toLowerCase() === 'path') path = v || '/';
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${path}\t${name}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matches = (p) => p === '/' || pathname === p || pathname.startsWith(p.endsWith('/') ? p : `${p}/`);
    return [...this.#cookies.values()]
      .filter((c) => matches(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  names() {
    return [...this.#cookies.values()].map((c) => c.name);
  }
}

/** fetch with the jar and without following redirects. */
async function step(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(res);
  return res;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwt = (jwt) => {
  const [header, payload] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(header, 'base64url')), payload: JSON.parse(Buffer.from(payload, 'base64url')) };
};

let op;
let issuer;
let discovery;

before(async () => {
  op = await startProvider();
  issuer = op.ready.issuer;
  discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
});

after(async () => {
  if (op && op.child.exitCode === null) {
    op.child.kill('SIGTERM');
    await exited(op.child);
  }
});

async function register(body = {}) {
  const res = await fetch(discovery.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...body,
    }),
  });
  const json = await res.json();
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

/**
 * GET the authorization URL and follow to the login form. Returns the form's action,
 * its field names, the abort link and the jar.
 */
async function startLogin(client, { scope = 'openid email profile', jar = new Jar() } = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const state = b64url(crypto.randomBytes(16));
  const nonce = b64url(crypto.randomBytes(16));
  const auth = new URL(discovery.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope,
    state,
    nonce,
    code_challenge: b64url(crypto.createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();

  let res = await step(jar, auth.href);
  assert.equal(res.status, 303);
  const interactionUrl = new URL(res.headers.get('location'), issuer).href;
  assert.match(new URL(interactionUrl).pathname, /^\/interaction\/[\w-]+$/);

  res = await step(jar, interactionUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script/i, 'the login page needs no JavaScript');
  assert.doesNotMatch(html, /https:\/\/fonts\.googleapis/, 'the login page loads nothing from elsewhere');
  const form = /<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  assert.ok(form, 'login form found');
  const fields = [...form[2].matchAll(/<input[^>]*name="([^"]+)"/g)].map((m) => m[1]);
  const abort = /<a href="([^"]+\/abort)"/.exec(html);
  assert.ok(abort, 'cancel link found');
  return {
    jar, verifier, state, nonce, interactionUrl,
    action: new URL(form[1].replaceAll('&amp;', '&'), issuer).href,
    fields,
    abortUrl: new URL(abort[1].replaceAll('&amp;', '&'), issuer).href,
  };
}

/** Follows 303s inside the provider until the redirect to the client; returns that URL. */
async function followToClient(jar, res) {
  for (let hops = 0; hops < 5; hops++) {
    assert.ok([302, 303].includes(res.status), `expected a redirect, got ${res.status}: ${await res.text()}`);
    const location = new URL(res.headers.get('location'), issuer);
    if (location.href.startsWith(`${REDIRECT_URI}?`)) return location;
    assert.equal(location.origin, issuer);
    res = await step(jar, location.href);
  }
  throw new Error('too many redirects');
}

async function login(client, loginName) {
  const flow = await startLogin(client);
  const res = await step(flow.jar, flow.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ prompt: 'login', login: loginName, password: 'anything at all' }).toString(),
  });
  const back = await followToClient(flow.jar, res);
  return { ...flow, back };
}

async function exchange(client, code, verifier, { post = false } = {}) {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (post) {
    form.set('client_id', client.client_id);
    form.set('client_secret', client.client_secret);
  } else {
    const enc = (s) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`;
  }
  const res = await fetch(discovery.token_endpoint, { method: 'POST', headers, body: form.toString() });
  return { status: res.status, body: await res.json() };
}

test('prints one JSON line with the issuer and the port', () => {
  const { issuer: iss, port } = op.ready;
  assert.ok(Number.isInteger(port) && port > 0);
  assert.equal(iss, `http://127.0.0.1:${port}`);
  assert.deepEqual(Object.keys(op.ready).sort(), ['issuer', 'port']);
});

test('discovery and JWKS', async () => {
  assert.equal(discovery.issuer, issuer);
  assert.equal(discovery.registration_endpoint, `${issuer}/reg`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
  for (const m of ['client_secret_basic', 'client_secret_post']) {
    assert.ok(discovery.token_endpoint_auth_methods_supported.includes(m));
  }
  for (const s of ['openid', 'email', 'profile']) assert.ok(discovery.scopes_supported.includes(s));
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].kty, 'RSA');
  assert.equal(jwks.keys[0].d, undefined, 'no private parts published');
});

test('code flow with PKCE and nonce: alice, client_secret_basic', async () => {
  const client = await register();
  assert.ok(client.client_id && client.client_secret);
  const flow = await login(client, 'alice@corp.test');
  assert.deepEqual(flow.fields.sort(), ['login', 'password', 'prompt']);
  assert.equal(flow.action, flow.interactionUrl);
  const { back } = flow;
  assert.equal(back.searchParams.get('state'), flow.state);
  assert.equal(back.searchParams.get('error'), null);
  const code = back.searchParams.get('code');
  assert.ok(code);

  // A wrong verifier is refused (PKCE is really checked) ...
  const bad = await exchange(client, code, b64url(crypto.randomBytes(32)));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_grant');
  // ... and that consumed the code: run a fresh flow for the real exchange.
  const again = await login(client, 'alice@corp.test');
  const ok = await exchange(client, again.back.searchParams.get('code'), again.verifier);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.token_type, 'Bearer');
  const { header, payload } = decodeJwt(ok.body.id_token);
  assert.equal(header.alg, 'RS256');
  assert.equal(payload.iss, issuer);
  assert.equal(payload.aud, client.client_id);
  assert.equal(payload.nonce, again.nonce);
  assert.equal(payload.sub, 'alice@corp.test');
  assert.equal(payload.email, 'alice@corp.test');
  assert.equal(payload.email_verified, true);

  const me = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${ok.body.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).email, 'alice@corp.test');
});

test('unverified@corp.test gets email_verified false; client_secret_post works', async () => {
  const client = await register({ token_endpoint_auth_method: 'client_secret_post' });
  const flow = await login(client, 'unverified@corp.test');
  const ok = await exchange(client, flow.back.searchParams.get('code'), flow.verifier, { post: true });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const { payload } = decodeJwt(ok.body.id_token);
  assert.equal(payload.nonce, flow.nonce);
  assert.equal(payload.email, 'unverified@corp.test');
  assert.equal(payload.email_verified, false);
});

test('any other login is a verified address', async () => {
  const client = await register();
  const email = `carol-${Date.now()}@corp.test`;
  const flow = await login(client, email);
  const ok = await exchange(client, flow.back.searchParams.get('code'), flow.verifier);
  const { payload } = decodeJwt(ok.body.id_token);
  assert.equal(payload.email, email);
  assert.equal(payload.email_verified, true);
});

test('the login form comes back for every authorization request', async () => {
  const client = await register();
  const first = await login(client, 'bob@corp.test');
  assert.ok(first.back.searchParams.get('code'));
  assert.ok(first.jar.names().includes('_session'));
  // Same jar, so the provider has a session for bob: still a login form, and mallory wins.
  const flow = await startLogin(client, { jar: first.jar });
  assert.ok(flow.fields.includes('login'));
  const res = await step(flow.jar, flow.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ prompt: 'login', login: 'mallory@other.test', password: 'x' }).toString(),
  });
  const back = await followToClient(flow.jar, res);
  const ok = await exchange(client, back.searchParams.get('code'), flow.verifier);
  const { payload } = decodeJwt(ok.body.id_token);
  assert.equal(payload.sub, 'mallory@other.test');
  assert.equal(payload.email_verified, true);
});

test('cancelling the login yields error=access_denied at the redirect URI', async () => {
  const client = await register();
  const flow = await startLogin(client);
  const res = await step(flow.jar, flow.abortUrl);
  const back = await followToClient(flow.jar, res);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), flow.state);
  assert.equal(back.searchParams.get('code'), null);
});

test('PKCE is required', async () => {
  const client = await register();
  const auth = new URL(discovery.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 's1', nonce: 'n1',
  }).toString();
  const res = await fetch(auth, { redirect: 'manual' });
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.origin + back.pathname, REDIRECT_URI);
  assert.equal(back.searchParams.get('error'), 'invalid_request');
  assert.equal(back.searchParams.get('state'), 's1');
});

test('nothing more was written to stdout', () => {
  assert.deepEqual(op.extra, []);
});

test('exits when its stdin closes', async () => {
  const other = await startProvider();
  other.child.stdin.end();
  const { code } = await exited(other.child);
  assert.equal(code, 0);
});

test('exits cleanly on SIGTERM and honours --port', async () => {
  const first = await startProvider();
  const { port } = first.ready;
  first.child.kill('SIGTERM');
  assert.equal((await exited(first.child)).code, 0);
  const second = await startProvider([`--port=${port}`]);
  assert.deepEqual(second.ready, { issuer: `http://127.0.0.1:${port}`, port });
  second.child.kill('SIGINT');
  assert.equal((await exited(second.child)).code, 0);
});
