#!/usr/bin/env node
// SMTP sink: a real SMTP server that keeps every message it receives in memory
// and serves them over a small JSON HTTP API. Used by the Rust integration tests
// and by the Playwright suite.
//
// Usage: node end2end/support/smtp-sink.mjs [--smtp-port N] [--http-port N] [--verbose]
//   (or SMTP_SINK_SMTP_PORT / SMTP_SINK_HTTP_PORT / SMTP_SINK_VERBOSE=1 in the environment)
//   Ports default to 0 (the OS picks a free one). Both listeners bind 127.0.0.1 only.
//
// Once both listeners are up it prints exactly one line to stdout:
//   {"smtp":<port>,"http":<port>}
// and writes nothing more to stdout. It exits on SIGTERM/SIGINT, and when its
// standard input closes, so the parent must spawn it with a stdin pipe it keeps
// open (a parent that dies closes the pipe and the sink goes with it). Pass
// --keep-stdin (or SMTP_SINK_KEEP_STDIN=1) to run it by hand in the background.
//
// HTTP API (JSON):
//   GET    /healthz                                   200 {"ok":true}
//   GET    /messages[?to=ADDR]                         messages (to ADDR), oldest first
//   GET    /messages/wait?to=ADDR&count=N&timeout_ms=T long-poll until at least N messages
//                                                     for ADDR exist (all of them, oldest
//                                                     first), or 408 {"error":"timeout"}
//                                                     after T ms (default 10000)
//   GET    /messages/:id                               one message
//   GET    /messages/:id/raw                           the message as received (message/rfc822)
//   DELETE /messages[?to=ADDR]                         forget all messages (or those to ADDR)
// A message is {id, from, to, subject, text, html, receivedAt, envelope:{from,to}, messageId}
// where `to` holds the lowercased envelope recipients (RCPT TO), which include Bcc.

import http from 'node:http';
import process from 'node:process';
import url from 'node:url';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 300_000;

function parseArgs(argv) {
  const opts = {
    smtpPort: Number(process.env.SMTP_SINK_SMTP_PORT || 0),
    httpPort: Number(process.env.SMTP_SINK_HTTP_PORT || 0),
    verbose: process.env.SMTP_SINK_VERBOSE === '1',
    keepStdin: process.env.SMTP_SINK_KEEP_STDIN === '1',
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
      case '--smtp-port': opts.smtpPort = Number(value()); break;
      case '--http-port': opts.httpPort = Number(value()); break;
      case '--verbose': opts.verbose = true; break;
      case '--keep-stdin': opts.keepStdin = true; break;
      case '-h':
      case '--help':
        process.stderr.write('usage: smtp-sink.mjs [--smtp-port N] [--http-port N] [--verbose] [--keep-stdin]\n');
        process.exit(0);
        break;
      default: fail(`unknown argument: ${arg}`);
    }
  }
  for (const [k, v] of [['--smtp-port', opts.smtpPort], ['--http-port', opts.httpPort]]) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) fail(`invalid ${k}: ${v}`);
  }
  return opts;
}

function fail(msg) {
  process.stderr.write(`smtp-sink: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
// Logging goes to stderr and only when asked: a parent that never drains a piped
// stderr must not be able to block the sink.
const log = opts.verbose ? (msg) => process.stderr.write(`smtp-sink: ${msg}\n`) : () => {};
// Never die of EPIPE if the parent stopped reading.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

// ---------------------------------------------------------------- store

/** @type {Array<object>} messages, oldest first */
let messages = [];
/** @type {Map<number, Buffer>} raw source by id */
let raws = new Map();
let nextId = 1;
/** @type {Set<{to: string|null, count: number, done: (list: object[]) => void}>} */
const waiters = new Set();

// Lower-cased, with the domain in its ASCII (IDNA) form: smtp-server hands over
// internationalised domains decoded to Unicode, the hub sends them as xn-- labels.
const norm = (addr) => {
  const a = String(addr ?? '').trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at < 0) return a;
  return `${a.slice(0, at)}@${url.domainToASCII(a.slice(at + 1)) || a.slice(at + 1)}`;
};

function messagesFor(to) {
  if (!to) return messages.slice();
  return messages.filter((m) => m.to.includes(to));
}

function addressesOf(field) {
  // mailparser gives an AddressObject or an array of them; groups nest in .group
  const out = [];
  const visit = (entry) => {
    if (!entry) return;
    if (Array.isArray(entry)) return entry.forEach(visit);
    if (entry.value) return entry.value.forEach(visit);
    if (entry.group) return entry.group.forEach(visit);
    if (entry.address) out.push(norm(entry.address));
  };
  visit(field);
  return out;
}

function store(parsed, raw, session) {
  const envelopeTo = (session.envelope.rcptTo || []).map((r) => norm(r.address));
  const headerTo = [...addressesOf(parsed.to), ...addressesOf(parsed.cc)];
  const to = [...new Set(envelopeTo.length ? envelopeTo : headerTo)];
  const msg = {
    id: nextId++,
    from: parsed.from?.text ?? norm(session.envelope.mailFrom?.address),
    to,
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
    receivedAt: new Date().toISOString(),
    messageId: parsed.messageId ?? null,
    envelope: {
      from: session.envelope.mailFrom ? norm(session.envelope.mailFrom.address) : null,
      to: envelopeTo,
    },
  };
  messages.push(msg);
  raws.set(msg.id, raw);
  log(`received #${msg.id} to=${to.join(',')} subject=${JSON.stringify(msg.subject)}`);
  // Wake every waiter whose condition now holds.
  for (const w of waiters) {
    const list = messagesFor(w.to);
    if (list.length >= w.count) w.done(list);
  }
}

// ---------------------------------------------------------------- SMTP

const smtp = new SMTPServer({
  secure: false,
  disabledCommands: ['STARTTLS'],
  hideSTARTTLS: true,
  authOptional: true,
  allowInsecureAuth: true,
  authMethods: ['PLAIN', 'LOGIN'],
  size: MAX_MESSAGE_BYTES,
  disableReverseLookup: true,
  banner: 'Terminus Hub test SMTP sink',
  logger: false,
  onAuth(auth, _session, callback) {
    callback(null, { user: auth.username || 'anonymous' });
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', (err) => callback(err));
    stream.on('end', () => {
      if (stream.sizeExceeded) {
        const err = new Error('Message exceeds fixed maximum message size');
        err.responseCode = 552;
        return callback(err);
      }
      const raw = Buffer.concat(chunks);
      simpleParser(raw, { skipImageLinks: true }).then(
        (parsed) => {
          store(parsed, raw, session);
          callback(null, 'Message queued');
        },
        (err) => {
          log(`parse error: ${err.message}`);
          const e = new Error(`Could not parse message: ${err.message}`);
          e.responseCode = 451;
          callback(e);
        },
      );
    });
  },
});
smtp.on('error', (err) => log(`smtp error: ${err.message}`));

// ---------------------------------------------------------------- HTTP

function send(res, status, body, headers = {}) {
  if (res.writableEnded || res.destroyed) return;
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': Buffer.isBuffer(body) ? 'message/rfc822' : 'application/json; charset=utf-8',
    'content-length': payload.length,
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

function intParam(params, name, dflt, min, max) {
  const raw = params.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) return NaN;
  return n;
}

function handleWait(req, res, params) {
  const to = params.has('to') ? norm(params.get('to')) : null;
  const count = intParam(params, 'count', 1, 1, 1_000_000);
  const timeoutMs = intParam(params, 'timeout_ms', DEFAULT_WAIT_MS, 0, MAX_WAIT_MS);
  if (Number.isNaN(count)) return send(res, 400, { error: 'count must be an integer >= 1' });
  if (Number.isNaN(timeoutMs)) {
    return send(res, 400, { error: `timeout_ms must be an integer in 0..${MAX_WAIT_MS}` });
  }
  const now = messagesFor(to);
  if (now.length >= count) return send(res, 200, now);

  let timer;
  const waiter = {
    to,
    count,
    done(list) {
      cleanup();
      send(res, 200, list);
    },
  };
  const cleanup = () => {
    clearTimeout(timer);
    waiters.delete(waiter);
  };
  timer = setTimeout(() => {
    cleanup();
    send(res, 408, { error: 'timeout', to, count, received: messagesFor(to).length });
  }, timeoutMs);
  waiters.add(waiter);
  // The client went away: forget the waiter.
  res.on('close', cleanup);
}

const httpServer = http.createServer((req, res) => {
  let url;
  try {
    url = new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return send(res, 400, { error: 'bad request' });
  }
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const params = url.searchParams;
  const method = req.method ?? 'GET';
  // Drain any request body.
  req.resume();

  if (path === '/healthz') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, { ok: true });
  }
  if (path === '/messages') {
    if (method === 'GET') {
      return send(res, 200, messagesFor(params.has('to') ? norm(params.get('to')) : null));
    }
    if (method === 'DELETE') {
      if (params.has('to')) {
        const to = norm(params.get('to'));
        const removed = messages.filter((m) => m.to.includes(to));
        messages = messages.filter((m) => !m.to.includes(to));
        for (const m of removed) raws.delete(m.id);
        return send(res, 200, { deleted: removed.length });
      }
      const deleted = messages.length;
      messages = [];
      raws = new Map();
      return send(res, 200, { deleted });
    }
    return send(res, 405, { error: 'method not allowed' });
  }
  if (path === '/messages/wait') {
    if (method !== 'GET') return send(res, 405, { error: 'method not allowed' });
    return handleWait(req, res, params);
  }
  const one = /^\/messages\/(\d+)(\/raw)?$/.exec(path);
  if (one) {
    if (method !== 'GET') return send(res, 405, { error: 'method not allowed' });
    const id = Number(one[1]);
    const msg = messages.find((m) => m.id === id);
    if (!msg) return send(res, 404, { error: 'not found' });
    return one[2] ? send(res, 200, raws.get(id)) : send(res, 200, msg);
  }
  return send(res, 404, { error: 'not found' });
});
httpServer.on('clientError', (_err, socket) => socket.destroy());

// ---------------------------------------------------------------- lifecycle

let stopping = false;
function shutdown(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  for (const w of waiters) w.done(messagesFor(w.to)); // answer pending long-polls
  httpServer.close();
  httpServer.closeAllConnections?.();
  smtp.close(() => {});
  // Nothing to flush: do not wait for lingering SMTP connections.
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

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

try {
  const smtpPort = await listen(smtp.server, opts.smtpPort);
  const httpPort = await listen(httpServer, opts.httpPort);
  process.stdout.write(`${JSON.stringify({ smtp: smtpPort, http: httpPort })}\n`);
  log(`listening smtp=127.0.0.1:${smtpPort} http=127.0.0.1:${httpPort}`);
} catch (err) {
  fail(`cannot listen: ${err.message}`);
}
