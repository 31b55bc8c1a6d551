// i18n.test.js — the Chinese catalogue covers every string, language negotiation, and the switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BASE, Client, ROOT, makeUser, sql } from '../lib/client.js';

// --- catalogue ------------------------------------------------------------------------------

function walk(dir, suffixes) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, suffixes));
    else if (suffixes.some((s) => e.name.endsWith(s))) out.push(p);
  }
  return out.sort();
}

const rel = (p) => path.relative(ROOT, p);

// [[English]] markers of the templates; <!-- comments --> are dropped first, as the view does.
function templateMessages() {
  const found = [];
  for (const file of walk(path.join(ROOT, 'templates'), ['.html'])) {
    const src = readFileSync(file, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    for (const m of src.matchAll(/\[\[([\s\S]*?)\]\]/g)) found.push({ msg: m[1], where: rel(file) });
  }
  return found;
}

// Decodes the body of one C string literal (between the quotes).
function cUnescape(s) {
  return s.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))/gs,
    (_, oct, hex, u4, u8, ch) => {
      if (oct) return String.fromCharCode(parseInt(oct, 8));
      if (hex) return String.fromCharCode(parseInt(hex, 16));
      if (u4 || u8) return String.fromCodePoint(parseInt(u4 || u8, 16));
      return { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', 0: '\0' }[ch] ?? ch;
    });
}

// Drops C comments but keeps string literals intact (a "/*" inside a string is no comment).
function stripCComments(src) {
  return src.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (m) => (m.startsWith('/') ? ' ' : m));
}

// The string of every N_("…" "…") in the C sources; adjacent literals are joined, as C does.
function cMessages(src) {
  const out = [];
  const code = stripCComments(src);
  const re = /\bN_\(\s*((?:"(?:[^"\\\n]|\\.)*"\s*)+)\)/g;
  for (const m of code.matchAll(re)) {
    const parts = [...m[1].matchAll(/"((?:[^"\\\n]|\\.)*)"/g)].map((p) => cUnescape(p[1]));
    out.push(parts.join(''));
  }
  return out;
}

function sourceMessages() {
  const found = [];
  for (const file of walk(path.join(ROOT, 'cgi'), ['.c', '.h'])) {
    for (const msg of cMessages(readFileSync(file, 'utf8'))) found.push({ msg, where: rel(file) });
  }
  return found;
}

// GKeyFile as GLib reads it: groups, key=value, # comments; key and value trimmed like GLib does.
let readCatalogue = function (file) {
  const groups = new Map();
  let group = null;
  const text = readFileSync(file, 'utf8');
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[') && line.trimEnd().endsWith(']')) {
      group = line.trimEnd().slice(1, -1);
      if (!groups.has(group)) groups.set(group, new Map());
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || group === null) continue;
    const key = line.slice(0, eq).replace(/\s+$/, '');
    const value = line.slice(eq + 1).replace(/^\s+/, '');
    groups.get(group).set(key, value);
  }
  return groups.get('messages') || new Map();
};

// The zh_CN catalogue is every .ini file of templates/i18n/zh_CN/ (one per area), merged.
const zhDir = path.join(ROOT, 'templates/i18n/zh_CN');
const zhFile = { merged: true };
const readCatalogueFile = readCatalogue;
readCatalogue = (f) => {
  if (f !== zhFile) return readCatalogueFile(f);
  const all = new Map();
  for (const name of readdirSync(zhDir).filter((n) => n.endsWith('.ini')).sort()) {
    for (const [k, v] of readCatalogueFile(path.join(zhDir, name))) all.set(k, v);
  }
  return all;
};

test('the C string extractor joins adjacent literals and decodes escapes', () => {
  const src = 'x = N_("Say \\"hi\\" " "twice.\\n"); /* N_("no") */ y = N_( "a\\\\b" );\n// N_("nope")\n';
  assert.deepEqual(cMessages(src), ['Say "hi" twice.\n', 'a\\b']);
});

test('the sources contain translatable strings at all', () => {
  assert.ok(templateMessages().length > 20, 'template markers found');
  assert.ok(sourceMessages().length > 20, 'N_() strings found');
});

test('every [[marker]] of the templates is in zh_CN.ini', () => {
  const cat = readCatalogue(zhFile);
  const missing = templateMessages().filter(({ msg }) => !cat.has(msg));
  assert.deepEqual(missing.map(({ msg, where }) => `${where}: ${msg}`), [],
    `missing in templates/i18n/zh_CN/*.ini:\n${[...new Set(missing.map((m) => m.msg))].join('\n')}`);
});

test('every N_() string of the C sources is in zh_CN.ini', () => {
  const cat = readCatalogue(zhFile);
  const missing = sourceMessages().filter(({ msg }) => !cat.has(msg));
  assert.deepEqual(missing.map(({ msg, where }) => `${where}: ${msg}`), [],
    `missing in templates/i18n/zh_CN/*.ini:\n${[...new Set(missing.map((m) => m.msg))].join('\n')}`);
});

test('no zh_CN.ini translation is empty', () => {
  const empty = [...readCatalogue(zhFile)].filter(([, v]) => v.trim() === '').map(([k]) => k);
  assert.deepEqual(empty, [], `empty translations in zh_CN.ini:\n${empty.join('\n')}`);
});

test('each string is translated in one file only (a second entry would silently shadow the first)', () => {
  const seen = new Map();
  const twice = [];
  for (const name of readdirSync(zhDir).filter((n) => n.endsWith('.ini')).sort()) {
    for (const k of readCatalogueFile(path.join(zhDir, name)).keys()) {
      if (seen.has(k)) twice.push(`${k}: ${seen.get(k)} and ${name}`);
      else seen.set(k, name);
    }
  }
  assert.deepEqual(twice, [], `move shared strings to core.ini:\n${twice.join('\n')}`);
});

test('zh_CN.ini has its entries in a [messages] group', () => {
  assert.ok(readCatalogue(zhFile).size > 20);
});

// --- Accept-Language ------------------------------------------------------------------------

// GET without any Accept-Language header (fetch would add one of its own).
function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(BASE + url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: body }));
    });
    req.on('error', reject);
  });
}

function assertChinese(html) {
  assert.match(html, /<html lang="zh-CN">/);
  assert.match(html, /<h2>登录<\/h2>/);
  assert.doesNotMatch(html, /Sign in/);
}

function assertEnglish(html) {
  assert.match(html, /<html lang="en">/);
  assert.match(html, /<h2>Sign in<\/h2>/);
  assert.doesNotMatch(html, /登录/);
}

test('Accept-Language zh-CN gives the Chinese login page', async () => {
  const res = await new Client({ lang: 'zh-CN,zh;q=0.9' }).get('/login');
  assert.equal(res.status, 200);
  assertChinese(res.text);
});

test('Accept-Language en-US gives the English login page', async () => {
  const res = await new Client({ lang: 'en-US,en;q=0.9' }).get('/login');
  assert.equal(res.status, 200);
  assertEnglish(res.text);
});

test('no Accept-Language gives the Chinese login page', async () => {
  const res = await rawGet('/login');
  assert.equal(res.status, 200);
  assert.equal(res.headers['accept-language'], undefined);
  assertChinese(res.text);
});

test('Accept-Language "fr, en;q=0.5" gives English', async () => {
  const res = await new Client({ lang: 'fr, en;q=0.5' }).get('/login');
  assertEnglish(res.text);
});

test('Accept-Language with only unsupported languages gives Chinese', async () => {
  const res = await new Client({ lang: 'fr-FR, de;q=0.8' }).get('/login');
  assertChinese(res.text);
});

test('Accept-Language picks the highest q, not the first listed', async () => {
  assertEnglish((await new Client({ lang: 'zh-CN;q=0.3, en;q=0.8' }).get('/login')).text);
  assertChinese((await new Client({ lang: 'en;q=0.2, zh-TW;q=0.9' }).get('/login')).text);
});

test('error pages follow Accept-Language too', async () => {
  const en = await new Client({ lang: 'en' }).get('/no-such-page');
  assert.equal(en.status, 404);
  assert.match(en.text, /Page not found/);
  const zh = await new Client({ lang: 'zh-CN' }).get('/no-such-page');
  assert.match(zh.text, /页面不存在/);
  const bad = await new Client({ lang: 'en' }).get('/login?x=%zz');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Bad request/);
});

test('error pages follow the kx_lang cookie over Accept-Language, malformed requests included', async () => {
  const c = new Client({ lang: 'zh-CN' });
  c.cookies.set('kx_lang', 'en');
  for (const url of ['/no-such-page', '/logout', '/login?x=%zz', '/login?x=%ff']) {
    const res = await c.get(url);
    assert.ok(res.status >= 400, `${url}: ${res.status}`);
    assert.match(res.text, /<html lang="en">/, `${url} (${res.status}) in English`);
  }
});

// --- the language switch --------------------------------------------------------------------

function langCookie(res) {
  return res.headers.getSetCookie().find((s) => s.startsWith('kx_lang='));
}

test('POST /lang sets the kx_lang cookie and the page switches to English', async () => {
  const c = new Client({ lang: 'zh-CN' });
  assertChinese((await c.get('/login')).text);
  const res = await c.post('/lang', { lang: 'en', next: '/login' }, { from: '/login' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login');
  const cookie = langCookie(res);
  assert.match(cookie || '', /^kx_lang=en;/);
  assert.match(cookie, /Max-Age=\d{6,}/, 'remembered for long');
  assertEnglish((await c.get('/login')).text);
});

test('the kx_lang cookie wins over Accept-Language, in both directions', async () => {
  const c = new Client({ lang: 'en' });
  await c.post('/lang', { lang: 'zh_CN', next: '/login' }, { from: '/login' });
  assert.equal(c.cookies.get('kx_lang'), 'zh_CN');
  assertChinese((await c.get('/login')).text);
  await c.post('/lang', { lang: 'en', next: '/login' }, { from: '/login' });
  assertEnglish((await c.get('/login')).text);
});

test('POST /lang without a CSRF token is refused with 403', async () => {
  const c = new Client({ lang: 'zh-CN' });
  await c.get('/login');
  const res = await c.post('/lang', { lang: 'en', next: '/login' }, { csrf: false });
  assert.equal(res.status, 403);
  assert.equal(c.cookies.has('kx_lang'), false);
});

test('POST /lang with an unknown language is refused with 400', async () => {
  const c = new Client({ lang: 'en' });
  const res = await c.post('/lang', { lang: 'xx', next: '/login' }, { from: '/login' });
  assert.equal(res.status, 400);
  assert.equal(c.cookies.has('kx_lang'), false);
});

test('POST /lang never redirects off-site', async () => {
  const c = new Client({ lang: 'en' });
  const res = await c.post('/lang', { lang: 'en', next: '//evil.example' }, { from: '/login' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
});

test('a signed-in user\'s choice is stored and survives a new login from a fresh browser', async () => {
  const u = makeUser('lg');
  const c = new Client({ lang: 'zh-CN' });
  await c.login(u.username, u.password);
  const before = await c.get('/');
  assert.match(before.text, /<html lang="zh-CN">/);
  assert.match(before.text, /欢迎/);

  const res = await c.post('/lang', { lang: 'en', next: '/' }, { from: '/' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  assert.deepEqual(sql(`SELECT lang FROM users WHERE username = '${u.username}'`), [['en']]);
  const after = await c.get('/');
  assert.match(after.text, /<html lang="en">/);
  assert.match(after.text, /Welcome/);

  // A fresh browser that asks for Chinese and has no kx_lang cookie still gets English once
  // signed in, because the choice belongs to the user.
  const fresh = new Client({ lang: 'zh-CN' });
  assertChinese((await fresh.get('/login')).text);
  await fresh.login(u.username, u.password);
  assert.equal(fresh.cookies.has('kx_lang'), false);
  const home = await fresh.get('/');
  assert.equal(home.status, 200);
  assert.match(home.text, /<html lang="en">/);
  assert.match(home.text, /Welcome/);

  // And back to Chinese.
  await fresh.post('/lang', { lang: 'zh_CN', next: '/' }, { from: '/' });
  assert.deepEqual(sql(`SELECT lang FROM users WHERE username = '${u.username}'`), [['zh_CN']]);
  const again = new Client({ lang: 'en' });
  await again.login(u.username, u.password);
  const zh = await again.get('/');
  assert.match(zh.text, /<html lang="zh-CN">/);
  assert.match(zh.text, /欢迎/);
});

test('a stored user language wins over a stale kx_lang cookie', async () => {
  const u = makeUser('lc');
  sql(`UPDATE users SET lang = 'en' WHERE username = '${u.username}'`);
  const c = new Client({ lang: 'zh-CN' });
  c.cookies.set('kx_lang', 'zh_CN');
  await c.login(u.username, u.password);
  const home = await c.get('/');
  assert.match(home.text, /<html lang="en">/);
});
