// Self-test of the SMTP sink: node --test end2end/support/smtp-sink.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import nodemailer from 'nodemailer';

const SINK = fileURLToPath(new URL('./smtp-sink.mjs', import.meta.url));

async function startSink(args = []) {
  const child = spawn(process.execPath, [SINK, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`sink exited early with ${code}`);
    }),
  ]);
  const ports = JSON.parse(line);
  return { child, ports, base: `http://127.0.0.1:${ports.http}` };
}

function exited(child, ms = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return Promise.race([
    once(child, 'exit').then(([code, signal]) => ({ code, signal })),
    new Promise((_, reject) => setTimeout(() => reject(new Error('sink did not exit')), ms).unref()),
  ]);
}

let sink;
let transport;

before(async () => {
  sink = await startSink();
  transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.ports.smtp,
    secure: false,
    ignoreTLS: true,
  });
});

after(async () => {
  transport?.close();
  if (sink && sink.child.exitCode === null) {
    sink.child.kill('SIGTERM');
    await exited(sink.child);
  }
});

const unique = (name) => `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
const get = async (path) => {
  const res = await fetch(sink.base + path);
  return { status: res.status, body: await res.json() };
};

test('prints one JSON line with two distinct ports', () => {
  assert.ok(Number.isInteger(sink.ports.smtp) && sink.ports.smtp > 0);
  assert.ok(Number.isInteger(sink.ports.http) && sink.ports.http > 0);
  assert.notEqual(sink.ports.smtp, sink.ports.http);
});

test('healthz answers 200', async () => {
  const { status } = await get('/healthz');
  assert.equal(status, 200);
});

test('a pending long-poll is woken by the arriving message', async () => {
  const to = unique('Alice');
  const t0 = Date.now();
  const waiting = get(`/messages/wait?to=${encodeURIComponent(to.toUpperCase())}&count=1&timeout_ms=10000`);
  await new Promise((r) => setTimeout(r, 200)); // make sure the poll is parked first
  await transport.sendMail({
    from: 'Terminus Hub <no-reply@terminus.test>',
    to,
    subject: 'Confirm your email address',
    text: 'Open http://127.0.0.1:1234/confirm?token=abc_DEF-123 to confirm.\n',
    html: '<p><a href="http://127.0.0.1:1234/confirm?token=abc_DEF-123">Confirm</a></p>',
  });
  const { status, body } = await waiting;
  const elapsed = Date.now() - t0;
  assert.equal(status, 200);
  assert.ok(elapsed < 5000, `woken after ${elapsed} ms`);
  assert.equal(body.length, 1);
  const [m] = body;
  assert.deepEqual(m.to, [to.toLowerCase()]);
  assert.equal(m.subject, 'Confirm your email address');
  assert.match(m.from, /no-reply@terminus\.test/);
  assert.match(m.text, /\/confirm\?token=abc_DEF-123/);
  assert.match(m.html, /<a href=/);
  assert.ok(!Number.isNaN(Date.parse(m.receivedAt)));
  assert.ok(m.id !== undefined);

  const one = await get(`/messages/${m.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.subject, m.subject);
  const raw = await fetch(`${sink.base}/messages/${m.id}/raw`);
  assert.equal(raw.status, 200);
  assert.match(await raw.text(), /Subject: Confirm your email address/);
});

test('wait returns at once when enough messages already exist, and counts', async () => {
  const to = unique('bob');
  for (const n of [1, 2, 3]) {
    await transport.sendMail({ from: 'a@terminus.test', to, subject: `n${n}`, text: `body ${n}` });
  }
  const t0 = Date.now();
  const { status, body } = await get(`/messages/wait?to=${encodeURIComponent(to)}&count=2&timeout_ms=5000`);
  assert.equal(status, 200);
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual(body.map((m) => m.subject), ['n1', 'n2', 'n3']); // all, oldest first
});

test('wait for a second message parks until it arrives', async () => {
  const to = unique('carol');
  await transport.sendMail({ from: 'a@terminus.test', to, subject: 'first', text: '1' });
  const waiting = get(`/messages/wait?to=${encodeURIComponent(to)}&count=2&timeout_ms=10000`);
  await new Promise((r) => setTimeout(r, 200));
  await transport.sendMail({ from: 'a@terminus.test', to, subject: 'second', text: '2' });
  const { status, body } = await waiting;
  assert.equal(status, 200);
  assert.deepEqual(body.map((m) => m.subject), ['first', 'second']);
});

test('wait times out with 408 {"error":"timeout"}', async () => {
  const t0 = Date.now();
  const { status, body } = await get(`/messages/wait?to=${encodeURIComponent(unique('nobody'))}&timeout_ms=300`);
  const elapsed = Date.now() - t0;
  assert.equal(status, 408);
  assert.equal(body.error, 'timeout');
  assert.ok(elapsed >= 280 && elapsed < 3000, `timed out after ${elapsed} ms`);
});

test('list filters by recipient case-insensitively, includes Bcc, and DELETE clears', async () => {
  const dave = unique('Dave');
  const erin = unique('erin');
  await transport.sendMail({ from: 'a@terminus.test', to: dave, bcc: erin, subject: 'hello', text: 'x' });
  const forDave = await get(`/messages?to=${encodeURIComponent(dave.toUpperCase())}`);
  assert.equal(forDave.body.length, 1);
  const forErin = await get(`/messages?to=${encodeURIComponent(erin)}`);
  assert.equal(forErin.body.length, 1);
  assert.deepEqual(forErin.body[0].to.sort(), [dave.toLowerCase(), erin].sort());

  const all = await get('/messages');
  assert.ok(all.body.length >= 6);
  const ids = all.body.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b)); // oldest first

  const del = await fetch(`${sink.base}/messages`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await get('/messages')).body.length, 0);
});

test('unknown paths are 404, bad parameters 400', async () => {
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/messages/wait?count=0')).status, 400);
  assert.equal((await get('/messages/wait?timeout_ms=abc')).status, 400);
});

test('messages over 10 MB are refused', async () => {
  await assert.rejects(
    transport.sendMail({ from: 'a@terminus.test', to: unique('big'), subject: 'big', text: 'x'.repeat(11 * 1024 * 1024) }),
    (err) => /552|size/i.test(String(err.responseCode ?? '') + err.message),
  );
});

test('exits when its stdin closes', async () => {
  const other = await startSink();
  other.child.stdin.end();
  const { code } = await exited(other.child);
  assert.equal(code, 0);
});

test('exits cleanly on SIGTERM, also with a long-poll pending', async () => {
  const other = await startSink();
  const pending = fetch(`http://127.0.0.1:${other.ports.http}/messages/wait?timeout_ms=60000`).catch(() => null);
  await new Promise((r) => setTimeout(r, 100));
  other.child.kill('SIGTERM');
  const { code } = await exited(other.child);
  assert.equal(code, 0);
  await pending;
});

test('honours fixed ports', async () => {
  // Find a free port pair by letting a first sink pick them, stop it, then reuse.
  const first = await startSink();
  const { smtp, http } = first.ports;
  first.child.kill('SIGTERM');
  await exited(first.child);
  const second = await startSink(['--smtp-port', String(smtp), `--http-port=${http}`]);
  assert.deepEqual(second.ports, { smtp, http });
  second.child.kill('SIGTERM');
  await exited(second.child);
});
