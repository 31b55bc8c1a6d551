// robustness.test.js — the worker pool under crashes, reloads, load, and a database that goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BASE, Client, ROOT, VAR, makeUser, stack, waitFor } from '../lib/client.js';

const execFileAsync = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function masterPid() {
  return Number(readFileSync(path.join(VAR, 'run/kexin.pid'), 'utf8').trim());
}

// The master's direct children, i.e. its workers.
function workers(master = masterPid()) {
  try {
    return execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  } catch (e) {
    if (e.status === 1) return []; // pgrep: nothing matched
    throw e;
  }
}

// The configured pool size, once the pool is settled (no reload or restart in progress).
async function settledWorkers() {
  const want = Number(process.env.KEXIN_WORKERS) || 0;
  let prev = null;
  return waitFor(() => {
    const w = workers();
    const stable = prev && prev.join() === w.join();
    prev = w;
    return w.length > 0 && (want ? w.length === want : stable) && w;
  }, { timeoutMs: 5000, stepMs: 100 });
}

// Runs the stack script without blocking the event loop, so requests can run meanwhile.
function stackAsync(...args) {
  return execFileAsync(path.join(ROOT, 'scripts/stack.sh'), args, { env: { ...process.env, KEXIN_VAR: VAR } });
}

// One request; network errors become status 0 so that they are counted, not thrown.
async function hit(url, init = {}) {
  try {
    const res = await fetch(BASE + url, { redirect: 'manual', ...init });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text, url };
  } catch (e) {
    return { status: 0, error: String(e.cause || e), url };
  }
}

// Keeps `parallel` request loops going until stop() is called; returns all results.
// Each job is a URL to GET or an async function returning { status }.
function keepHitting(jobs, parallel = 6) {
  let running = true;
  const results = [];
  const loops = Array.from({ length: parallel }, async (_, i) => {
    for (let n = 0; running; n++) {
      const job = jobs[(i + n) % jobs.length];
      results.push(typeof job === 'string' ? await hit(job) : await job().catch((e) => ({ status: 0, error: String(e) })));
    }
  });
  return {
    results,
    async stop() { running = false; await Promise.all(loops); return results; },
  };
}

function summary(results) {
  const by = {};
  for (const r of results) by[r.status] = (by[r.status] || 0) + 1;
  const err = results.find((r) => r.error);
  return JSON.stringify(by) + (err ? ` first error: ${err.error}` : '');
}

// True once the process is gone or a zombie (its sockets are closed either way).
function isDead(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] === 'Z';
  } catch {
    return true;
  }
}

async function killAndWait(pids) {
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // A worker hit by SIGKILL while the kernel hands it a connection drops that one request;
  // that race is outside the application, so requests start once the victims are gone.
  await waitFor(() => pids.every(isDead), { timeoutMs: 2000, stepMs: 10 });
}

async function healthOk() {
  const r = await hit('/healthz');
  return r.status === 200 && r;
}

test('a worker killed with SIGKILL is replaced and the site keeps answering', async () => {
  const master = masterPid();
  const before = await settledWorkers();
  const victim = before[0];
  await killAndWait([victim]);
  const results = await Promise.all(Array.from({ length: 60 }, () => hit('/healthz')));
  assert.ok(results.every((r) => r.status === 200), summary(results));
  const after = await waitFor(() => {
    const w = workers(master);
    return w.length === before.length && !w.includes(victim) && w;
  }, { timeoutMs: 2000, stepMs: 50 });
  assert.equal(after.length, before.length);
  assert.equal(masterPid(), master, 'the master itself survived');
});

test('several workers killed at once are all replaced', async () => {
  const master = masterPid();
  const before = await settledWorkers();
  const victims = before.slice(0, Math.max(1, before.length - 1));
  await killAndWait(victims);
  const results = await Promise.all(Array.from({ length: 40 }, () => hit('/healthz')));
  assert.ok(results.every((r) => r.status === 200), summary(results));
  await waitFor(() => {
    const w = workers(master);
    return w.length === before.length && victims.every((v) => !w.includes(v));
  }, { timeoutMs: 2000, stepMs: 50 });
});

test('SIGHUP replaces every worker and no request fails during the reload', async () => {
  const master = masterPid();
  const before = await settledWorkers();
  const u = makeUser('hup');
  // Sign-ins are slow (argon2), so some are in flight when the old workers are told to stop.
  const signIn = async () => {
    const c = new Client();
    const res = await c.post('/login', { username: u.username, password: u.password }, { from: '/login' });
    return { status: res.status === 303 ? 200 : res.status, url: 'POST /login' };
  };
  const load = keepHitting(['/healthz', signIn, '/login', '/static/css/app.css', signIn], 8);
  await sleep(200);
  process.kill(master, 'SIGHUP');
  let after;
  try {
    after = await waitFor(() => {
      const w = workers(master);
      return w.length === before.length && w.every((p) => !before.includes(p)) && w;
    }, { timeoutMs: 5000, stepMs: 50 });
    await sleep(300); // keep the load on a little after the switch
  } finally {
    await load.stop();
  }
  assert.ok(load.results.length >= 16, `enough requests during the reload: ${load.results.length}`);
  const bad = load.results.filter((r) => r.status !== 200);
  assert.equal(bad.length, 0, summary(load.results));
  assert.equal(after.length, before.length);
  assert.equal(masterPid(), master);
});

test('200 parallel GET /login all succeed, even when they all arrive while every worker is busy', async () => {
  const master = masterPid();
  const pool = await settledWorkers();
  let results;
  // Freeze the workers so that the whole burst waits in the FastCGI socket's queue at once.
  for (const pid of pool) process.kill(pid, 'SIGSTOP');
  try {
    const pending = Promise.all(Array.from({ length: 200 }, () => hit('/login')));
    // 200 connections wait for 4 workers: the socket's listen queue must hold them all.
    await sleep(500);
    for (const pid of pool) process.kill(pid, 'SIGCONT');
    results = await pending;
  } finally {
    for (const pid of pool) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
  }
  assert.equal(results.filter((r) => r.status !== 200).length, 0, summary(results));
  assert.ok(results.every((r) => /name="_csrf"/.test(r.text)));
  assert.deepEqual(workers(master), pool, 'no worker was replaced');
});

test('100 parallel signed-in requests of 4 users each get their own page', async () => {
  const users = [];
  for (let i = 0; i < 4; i++) {
    const u = makeUser(`par${i}`);
    const c = new Client({ lang: 'en' });
    await c.login(u.username, u.password);
    users.push({ u, cookie: c.cookieHeader() });
  }
  const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const { u, cookie } = users[i % users.length];
    return { ...(await hit('/', { headers: { cookie, 'accept-language': 'en' } })), who: u.username };
  }));
  assert.equal(results.filter((r) => r.status !== 200).length, 0, summary(results));
  for (const r of results) {
    assert.match(r.text, new RegExp(`<dd>${r.who}</dd>`), `page of ${r.who}`);
    for (const other of users) {
      if (other.u.username !== r.who) assert.doesNotMatch(r.text, new RegExp(other.u.username));
    }
  }
});

test('PostgreSQL restarted under the pool: /healthz answers 200 or 503, then 200 within 5 s', async () => {
  assert.ok(await healthOk(), 'healthy before');
  const load = keepHitting(['/healthz'], 4);
  let restarted = false;
  try {
    await stackAsync('pg-restart');
    restarted = true;
  } finally {
    await load.stop();
    if (!restarted) stack('pg-start');
  }
  const finished = Date.now();
  for (const r of load.results) {
    assert.ok(r.status === 200 || r.status === 503, `only 200 or 503 during the restart: ${summary(load.results)}`);
    if (r.status === 503) assert.match(r.retryAfter || '', /^\d+$/, '503 carries Retry-After');
  }
  // Every worker must have reconnected: a burst of requests all succeed.
  await waitFor(async () => {
    const burst = await Promise.all(Array.from({ length: 12 }, () => hit('/healthz')));
    return burst.every((r) => r.status === 200);
  }, { timeoutMs: 5000, stepMs: 100 });
  assert.ok(Date.now() - finished < 5500);
});

test('a signed-in page works again after a PostgreSQL restart', async () => {
  const u = makeUser('pgr');
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  try {
    stack('pg-restart');
  } finally {
    stack('pg-start');
  }
  await waitFor(async () => {
    const burst = await Promise.all(Array.from({ length: 8 }, () => c.get('/')));
    return burst.every((r) => r.status === 200);
  }, { timeoutMs: 5000, stepMs: 100 });
});

test('PostgreSQL stopped: /healthz and pages answer 503 with Retry-After, then recover within 5 s of the start', async () => {
  const u = makeUser('pgs');
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  assert.equal((await c.get('/')).status, 200);
  try {
    stack('pg-stop');
    // Several requests, so that every worker notices (each has its own connection).
    const health = await Promise.all(Array.from({ length: 12 }, () => hit('/healthz')));
    for (const r of health) {
      assert.equal(r.status, 503, summary(health));
      assert.match(r.retryAfter || '', /^\d+$/);
    }
    const pages = await Promise.all(Array.from({ length: 8 }, () => c.get('/')));
    for (const p of pages) {
      assert.equal(p.status, 503);
      assert.match(p.headers.get('retry-after') || '', /^\d+$/);
      assert.match(p.headers.get('content-type') || '', /^text\/html/);
      assert.match(p.text, /Temporarily unavailable/);
      assert.doesNotMatch(p.text, /SELECT|sql|postgres|libpq|connection to server/i);
    }
    // The login page and the form post do not crash either.
    const login = await hit('/login');
    assert.ok([200, 503].includes(login.status), `GET /login: ${login.status}`);
    const post = await c.post('/login', { username: u.username, password: u.password }, { csrf: false });
    assert.ok([403, 503].includes(post.status), `POST /login: ${post.status}`);
  } finally {
    stack('pg-start');
  }
  const started = Date.now();
  await waitFor(healthOk, { timeoutMs: 5000, stepMs: 100 });
  await waitFor(async () => {
    const burst = await Promise.all(Array.from({ length: 8 }, () => c.get('/')));
    return burst.every((r) => r.status === 200);
  }, { timeoutMs: Math.max(500, 5000 - (Date.now() - started)), stepMs: 100 });
});
