// client.js — a tiny browser-like HTTP client for the tests: cookie jar, CSRF tokens, forms,
// plus helpers to reach the database (psql) and the kexin binary of the running test stack.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const BASE = process.env.KEXIN_URL || 'http://127.0.0.1:8080';
export const ROOT = process.env.KEXIN_ROOT || path.resolve(import.meta.dirname, '../..');
export const VAR = process.env.KEXIN_VAR || path.join(ROOT, 'var');

export function adminPassword() {
  return readFileSync(path.join(VAR, 'admin-password'), 'utf8').trim();
}

// Runs the stack script (psql, pg-restart …) with the test stack's environment.
export function stack(...args) {
  return execFileSync(path.join(ROOT, 'scripts/stack.sh'), args, {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR },
  });
}

// One SQL statement as the superuser; returns rows as arrays of strings. Parameters are psql
// variables: write :'p1' (quoted literal) or :p1 in the query. psql interpolates them only in
// script input, so the query goes in on stdin.
export function sql(query, ...params) {
  const args = ['-A', '-t', '-q', '-F', '\t', '-v', 'ON_ERROR_STOP=1'];
  params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
  const out = execFileSync(path.join(ROOT, 'scripts/stack.sh'), ['psql', ...args], {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR }, input: query + '\n',
  });
  return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
}

// Runs the kexin binary against the test stack (e.g. kexin('user', 'add', 'li')).
export function kexin(...args) {
  return execFileSync(path.join(ROOT, 'build/kexin'), args, {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT },
  });
}

let seq = 0;
// A user that exists only for this test; returns { username, password }.
export function makeUser(prefix = 'u', opts = []) {
  const username = `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`;
  const password = kexin('user', 'add', username, ...opts).trim();
  return { username, password };
}

export class Client {
  constructor({ lang } = {}) {
    this.cookies = new Map();
    this.lang = lang;
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const del = attrs.some((a) => /max-age=0\b/i.test(a.trim()));
      if (del || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }

  async request(method, url, { body, headers = {}, redirect = 'manual' } = {}) {
    const h = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    if (this.lang) h['accept-language'] = this.lang;
    const res = await fetch(BASE + url, { method, body, headers: h, redirect: 'manual' });
    this.store(res);
    const text = await res.text();
    const out = { status: res.status, headers: res.headers, text, url };
    if (redirect === 'follow' && res.status >= 300 && res.status < 400) {
      return this.request('GET', res.headers.get('location'), { redirect });
    }
    return out;
  }

  get(url, opts) { return this.request('GET', url, opts); }

  // The CSRF token of the last form on a page.
  static csrfOf(html) {
    const m = [...html.matchAll(/name="_csrf" value="([^"]+)"/g)];
    return m.length ? m[m.length - 1][1] : null;
  }

  async post(url, fields = {}, { csrf = true, from, redirect } = {}) {
    const form = new URLSearchParams();
    if (csrf) {
      const page = await this.get(from || url);
      const token = Client.csrfOf(page.text);
      if (token) form.set('_csrf', token);
    }
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return this.request('POST', url, {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect,
    });
  }

  async login(username, password) {
    const res = await this.post('/login', { username, password }, { from: '/login' });
    if (res.status !== 303) throw new Error(`login failed for ${username}: ${res.status}`);
    return res;
  }
}

export async function waitFor(fn, { timeoutMs = 10000, stepMs = 100 } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { if ((last = await fn())) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met in ${timeoutMs} ms (last: ${last})`);
}
