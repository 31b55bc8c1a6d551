// import.test.js — a salesperson imports a small CSV saved by Chinese Excel (GB18030) through
// upload, mapping and preview, and finds the customers afterwards. Screenshots of every step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, makeUser, sql } from '../lib/client.js';
import { launch, shot } from './browser.js';

const tag = Date.now().toString(36);
let browser;
let seller;
let csvPath;

before(async () => {
  browser = await launch();
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', 'own')`, `e2e_imp_${tag}`);
  const role = sql(`SELECT id FROM roles WHERE code = :'p1'`, `e2e_imp_${tag}`)[0][0];
  for (const a of ['view', 'create', 'edit']) {
    sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', 'customers', :'p2')`, role, a);
  }
  sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', 'contacts', 'view')`, role);
  seller = makeUser('e2eimp', ['--display', '周导入']);
  sql(`INSERT INTO user_roles (user_id, role_id) SELECT id, :'p1' FROM users WHERE username = :'p2'`, role, seller.username);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kx-e2e-import-'));
  const utf8 = path.join(dir, 'utf8.csv');
  writeFileSync(utf8, [
    '客户名称,简称,电话,联系人,手机',
    `宁波博远${tag}精密机械有限公司,博远精密,0574-87651234,陈晓东,13957400001`,
    `宁波博远${tag}精密机械有限公司,博远精密,0574-87651234,王丽华,13957400002`,
    `绍兴金鼎${tag}纺织股份有限公司,金鼎纺织,0575-85123456,赵志刚,13857500003`,
    ',缺名称,0575-85123457,钱多多,13857500004',
  ].join('\r\n') + '\r\n');
  csvPath = path.join(dir, '客户导入.csv');
  writeFileSync(csvPath, execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030', utf8]));
});
after(async () => { await browser?.close(); });

test('a GB18030 CSV goes through upload, mapping and preview into the customer list', async () => {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(BASE + '/login');
  await page.getByLabel('用户名').fill(seller.username);
  await page.getByLabel('密码', { exact: true }).fill(seller.password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.goto(BASE + '/customers');
  await page.getByRole('link', { name: '导入', exact: true }).click();
  await shot(page, 'import-start-zh');
  await page.locator('input[type=file][name=file]').setInputFiles(csvPath);
  await page.getByRole('button', { name: '上传并继续' }).click();
  // Mapping: the Chinese headers are recognised by themselves.
  await page.getByRole('button', { name: '检查数据' }).waitFor();
  await shot(page, 'import-map-zh');
  await page.getByRole('button', { name: '检查数据' }).click();
  // Preview: the row without a name is flagged with its row number as Excel shows it.
  await page.getByRole('button', { name: '立即导入' }).waitFor();
  const preview = await page.content();
  assert.ok(preview.includes(`宁波博远${tag}精密机械有限公司`), 'GB18030 text decoded');
  assert.match(preview, />\s*5\s*</, 'row 5 listed');
  await shot(page, 'import-preview-zh');
  await page.getByRole('button', { name: '立即导入' }).click();
  await page.getByRole('heading', { name: '导入完成' }).waitFor();
  await shot(page, 'import-done-zh');
  const rows = sql(`SELECT c.name, count(k.id) FROM customers c LEFT JOIN contacts k ON k.customer_id = c.id
                     WHERE c.name LIKE :'p1' GROUP BY c.name ORDER BY c.name`, `%${tag}%`);
  assert.deepEqual(rows, [[`宁波博远${tag}精密机械有限公司`, '2'], [`绍兴金鼎${tag}纺织股份有限公司`, '1']]);
  await page.goto(BASE + '/customers?q=' + encodeURIComponent('博远'));
  await page.getByRole('link', { name: `宁波博远${tag}精密机械有限公司` }).waitFor();
  await ctx.close();
});
