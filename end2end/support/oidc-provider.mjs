#!/usr/bin/env node
// OIDC provider: a real OpenID Connect provider (the npm package oidc-provider) for the
// SSO tests. Used by the Rust integration tests and by the Playwright suite.
//
// Usage: node end2end/support/oidc-provider.mjs [--port N] [--verbose] [--keep-stdin]
//   (or OIDC_PROVIDER_PORT / OIDC_PROVIDER_VERBOSE=1 / OIDC_PROVIDER_KEEP_STDIN=1)
//   The port defaults to 0 (the OS picks a free one). It binds 127.0.0.1 only, over plain
//   http; the issuer is http://127.0.0.1:<port> (no trailing slash). Needs Node >= 20.18
//   (oidc-provider 9 officially wants Node 22 and warns, silenced here, but runs on 20).
//
// Once listening it prints exactly one line to stdout:
//   {"issuer":"http://127.0.0.1:<port>","port":<port>}
// and writes nothing more to stdout (oidc-provider's own notices go to stderr with
// --verbose, else nowhere). It exits on SIGTERM/SIGINT, and when its standard input
// closes, so the parent must spawn it with a stdin pipe it keeps open. Pass --keep-stdin
// to run it by hand in the background.
//
// What it offers (everything in memory, gone at exit; fresh signing key on every start):
//   GET  /.well-known/openid-configuration  discovery
//   GET  /jwks                              one RSA key; ID tokens are RS256
//   POST /reg                               dynamic client registration, no initial access
//        token: {"redirect_uris":["http://127.0.0.1:…/cb"],"grant_types":["authorization_code"],
//        "response_types":["code"],"token_endpoint_auth_method":"client_secret_basic"}
//        → 201 {"client_id","client_secret",…}. http://127.0.0.1 redirect URIs are fine.
//        client_secret_basic and client_secret_post are both accepted.
//   GET  /auth                              authorization endpoint: response_type=code only,
//        PKCE (code_challenge_method=S256) REQUIRED for every client, `state` and `nonce`
//        are passed through (nonce into the ID token).
//   POST /token                             code exchange (client secret + code_verifier)
//   GET  /me                                userinfo
//   Scopes openid email profile. The ID token itself carries email, email_verified (and
//   name, preferred_username with `profile`), not only userinfo.
//
// Users: the login is the account id (`sub`), the password is ignored.
//   alice@corp.test, bob@corp.test, owner@corp.test, mallory@other.test  email_verified true
//   unverified@corp.test                                                 email_verified FALSE
//   any other login X (e.g. carol-123@corp.test) → email X, email_verified true
//   (X is taken as typed, only trimmed; email = sub = X.)
//   POST /_test/email {"sub":"…","email":"…"} changes the email the provider asserts for
//   that sub from then on (as an administrator renaming someone at a real provider) → 204.
//
// The sign-in, step by step, for a client that keeps cookies (all are HttpOnly, SameSite=Lax,
// not Secure, some path-scoped, so a real cookie store is needed) and runs no JavaScript.
// Every authorization request ignores any earlier session here (see forgetSession), so the
// sequence is always the same and always picks its user explicitly:
//   1. GET  {issuer}/auth?client_id=…&redirect_uri=…&response_type=code&scope=openid%20email
//           &state=…&nonce=…&code_challenge=…&code_challenge_method=S256
//      → 303, Location: /interaction/<uid>   (RELATIVE; sets _interaction + _interaction.sig
//           with Path=/interaction/<uid>, _interaction_resume + .sig with Path=/auth/<uid>)
//   2. GET  {issuer}/interaction/<uid>
//      → 200 text/html: <form method="post" action="{issuer}/interaction/<uid>"> with fields
//           prompt (hidden, value "login"), login (type=text), password (type=password),
//           a <button type="submit"> "Sign-in"; and a link
//           <a href="{issuer}/interaction/<uid>/abort">[ Cancel ]</a>.
//   3. POST {issuer}/interaction/<uid>   application/x-www-form-urlencoded
//           prompt=login&login=alice%40corp.test&password=anything
//      → 303, Location: {issuer}/auth/<uid>   (absolute)
//   4. GET  {issuer}/auth/<uid>
//      → 303, Location: <redirect_uri>?code=…&state=…&iss=http%3A%2F%2F127.0.0.1%3A<port>
//           (also sets _session + .sig). Consent is granted automatically: no consent page.
//   To cancel, instead of step 3: GET {issuer}/interaction/<uid>/abort (the Cancel link)
//      → 303 {issuer}/auth/<uid> → 303 <redirect_uri>?error=access_denied
//           &error_description=End-User+aborted+interaction&state=…&iss=…
//   A request without PKCE for a registered client and redirect URI comes back at once:
//   303 <redirect_uri>?error=invalid_request&error_description=…&state=…. An unknown
//   client_id or unregistered redirect_uri gets a 400 HTML error page; steps 2 and 3
//   without the _interaction cookie fail with 400.
// The HTML pages have no scripts and load nothing from elsewhere (the stock Google Fonts
// @import is stripped), so Chromium with JavaScript off renders them offline at once.

import http from 'node:http';
import crypto from 'node:crypto';
import process from 'node:process';

function parseArgs(argv) {
  const opts = {
    port: Number(process.env.OIDC_PROVIDER_PORT || 0),
    verbose: process.env.OIDC_PROVIDER_VERBOSE === '1',
    keepStdin: process.env.OIDC_PROVIDER_KEEP_STDIN === '1',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`missing value for ${name}`);
      return v;
    };
    switch (name) {
      case '--port': opts.port = Number(value()); break;
      case '--verbose': opts.verbose = true; break;
      case '--keep-stdin': opts.keepStdin = true; break;
      case '-h':
      case '--help':
        process.stderr.write('usage: oidc-provider.mjs [--port N] [--verbose] [--keep-stdin]\n');
        process.exit(0);
        break;
      default: fail(`unknown argument: ${arg}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fail(`invalid --port: ${opts.port}`);
  return opts;
}

function fail(msg) {
  process.stderr.write(`oidc-provider: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
// oidc-provider 9 targets Node 22 but runs on Node 20 from 20.18 (URL.parse, crypto.hash).
if (typeof URL.parse !== 'function' || typeof crypto.hash !== 'function') {
  fail(`needs Node.js >= 20.18, found ${process.version}`);
}
const log = opts.verbose ? (msg) => process.stderr.write(`oidc-provider: ${msg}\n`) : () => {};
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
// oidc-provider prints notices with console.info (stdout!) and warnings with console.warn;
// koa logs errors with console.error. stdout carries only the ready line: reroute them all.
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[method] = (...args) => log(args.map((a) => (typeof a === 'string' ? a : String(a?.stack ?? a))).join(' '));
}

const { default: Provider } = await import('oidc-provider');

// ---------------------------------------------------------------- accounts

const UNVERIFIED = new Set(['unverified@corp.test']);
// alice@corp.test, bob@corp.test, owner@corp.test and mallory@other.test need no entry:
// every login other than those in UNVERIFIED is a verified address.

// sub → email, for subjects whose email an administrator changed (POST /_test/email).
const RENAMED = new Map();

function account(id) {
  const sub = String(id ?? '').trim();
  if (!sub) return undefined;
  return {
    accountId: sub,
    async claims() {
      const local = sub.split('@')[0];
      return {
        sub,
        email: RENAMED.get(sub) ?? sub,
        email_verified: !UNVERIFIED.has(sub.toLowerCase()),
        name: local,
        preferred_username: local,
      };
    },
  };
}

// ---------------------------------------------------------------- provider

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

const SCOPES = 'openid email profile';

// Every authorization request (GET /auth and its resumption GET /auth/<uid>) runs without
// this provider's session cookie, so it always shows the login form and picks its user
// explicitly. (With the session, the same user would be
// let through silently, and a different one would first meet a sign-out confirmation page
// that needs JavaScript or an extra click.)
function forgetSession(cookieHeader) {
  return cookieHeader
    .split(';')
    .filter((c) => !/^\s*_session(\.sig)?=/.test(c))
    .join(';');
}

function stripExternalFonts(body) {
  return body.replace(/@import url\(https?:[^)]*\);?/g, '');
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: true }, // the stock login form at /interaction/<uid>
      registration: { enabled: true, initialAccessToken: false },
      userinfo: { enabled: true },
    },
    responseTypes: ['code'],
    pkce: { required: () => true }, // S256 is the only method oidc-provider supports
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    scopes: SCOPES.split(' '),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // Put the scope claims (email, email_verified, …) into the ID token too.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => account(sub),
    // Auto-consent: the first time a client sees a user, grant it openid email profile.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(SCOPES);
      await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>OIDC error</title></head><body>
<h1>oops! something went wrong</h1>
${Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('\n')}
</body></html>`;
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 86400,
      Grant: 86400,
    },
  });
  provider.use(async (ctx, next) => {
    if (/^\/auth(\/|$)/.test(ctx.path) && ctx.req.headers.cookie) {
      ctx.req.headers.cookie = forgetSession(ctx.req.headers.cookie);
    }
    await next();
    if (typeof ctx.body === 'string' && ctx.response.is('html') && !ctx.res.headersSent) {
      ctx.body = stripExternalFonts(ctx.body);
    }
  });
  provider.on('server_error', (_ctx, err) => log(`server_error: ${err?.stack ?? err}`));
  for (const event of ['authorization.error', 'grant.error', 'registration_create.error', 'userinfo.error']) {
    provider.on(event, (_ctx, err) => log(`${event}: ${err?.message} ${err?.error_description ?? ''}`));
  }
  return provider;
}

// ---------------------------------------------------------------- HTTP

// The issuer embeds the port, which is known only once listening: requests that
// (impossibly early) arrive before the provider exists get 503.
let handler = (_req, res) => {
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end('starting\n');
};
// Test control: change the email asserted for a subject.
function renameSubject(req, res) {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    try {
      const { sub, email } = JSON.parse(body);
      if (typeof sub !== 'string' || typeof email !== 'string') throw new Error('sub and email are strings');
      RENAMED.set(sub.trim(), email.trim());
      res.writeHead(204);
      res.end();
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${err.message}\n`);
    }
  });
}

const server = http.createServer((req, res) => {
  log(`${req.method} ${req.url}`);
  if (req.method === 'POST' && req.url === '/_test/email') return renameSubject(req, res);
  handler(req, res);
});
server.on('clientError', (_err, socket) => socket.destroy());

// ---------------------------------------------------------------- lifecycle

let stopping = false;
function shutdown(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(code), 50).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

if (!opts.keepStdin) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

try {
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
  const issuer = `http://127.0.0.1:${port}`;
  handler = buildProvider(issuer).callback();
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
  log(`listening, issuer ${issuer}`);
} catch (err) {
  fail(`cannot start: ${err.message}`);
}
