// customers.test.js — a salesperson creates a customer with two contacts in the browser, finds it
// with a 2-character search, exports the list and reads the file back; then looks at the pages in
// English. Screenshots go to tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, makeUser, sql } from '../lib/client.js';
import { launch, shot } from './browser.js';

const tag = Date.now().toString(36);
const N = String(10000000 + Math.floor(Math.random() * 89999999));
const NAME = `杭州华通${tag}数控设备有限公司`;
let browser;
let seller;

before(async () => {
  browser = await launch();
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', 'own')`, `e2e_sales_${tag}`);
  const role = sql(`SELECT id FROM roles WHERE code = :'p1'`, `e2e_sales_${tag}`)[0][0];
  const perms = { customers: ['view', 'create', 'edit', 'export'], contacts: ['view', 'create', 'edit', 'delete'] };
  for (const [m, actions] of Object.entries(perms)) {
    for (const a of actions) sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', :'p2', :'p3')`, role, m, a);
  }
  seller = makeUser('e2esales', ['--display', '林业务']);
  sql(`INSERT INTO user_roles (user_id, role_id) SELECT id, :'p1' FROM users WHERE username = :'p2'`, role, seller.username);
});
after(async () => { await browser?.close(); });

async function signIn(page) {
  await page.goto(BASE + '/login');
  await page.locator('input[name=username]').fill(seller.username);
  await page.locator('input[name=password]').fill(seller.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.locator('input[name=password]').press('Enter')]);
}

test('a salesperson creates a customer with two contacts, finds it, exports the list (Chinese)', async () => {
  const ctx = await browser.newContext({ locale: 'zh-CN', acceptDownloads: true, viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page);

  await page.getByRole('link', { name: '客户', exact: true }).click();
  await page.getByRole('link', { name: '新建客户' }).click();
  await page.locator('#f-name').fill(NAME);
  await page.locator('#f-short_name').fill('华通数控');
  await page.locator('#f-status').selectOption('active');
  await page.locator('#f-city_id').selectOption('330100');
  await page.locator('#f-phone').fill(`0571-${N}`);
  await page.locator('#f-credit_limit').fill('200,000');
  await page.locator('#f-contact_name').fill('王建国');
  await page.locator('#f-contact_title').fill('采购总监');
  await page.locator('#f-contact_mobile').fill(`139${N}`);
  await shot(page, 'customer-form-zh');
  await page.getByRole('button', { name: '创建客户' }).click();
  await page.waitForLoadState();
  // When a similar customer exists (the demo data is random), the form asks before saving.
  const confirm = page.locator('input[name=confirm_similar]');
  if (await confirm.count()) {
    await confirm.check();
    await page.getByRole('button', { name: '创建客户' }).click();
  }
  await page.getByText('客户已创建。').waitFor();
  assert.equal(await page.locator('h1').textContent(), NAME);

  await page.locator('details.add-contact summary').click();
  await page.locator('#f-name').fill('李秀英');
  await page.locator('#f-title').fill('财务经理');
  await page.locator('#f-mobile').fill(`138${N}`);
  await page.locator('#f-email').fill(`li${tag}@huatong.example`);
  await page.getByRole('button', { name: '添加联系人' }).last().click();
  await page.getByText('联系人已添加。').waitFor();
  const rows = page.locator('#contacts tbody tr:not([hidden])');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.first().textContent(), /王建国\s*主联系人/);
  await page.evaluate(() => window.scrollTo(0, 0)); // the redirect went to #contacts
  await shot(page, 'customer-detail-zh');

  await page.getByRole('link', { name: '客户', exact: true }).click();
  await page.locator('#q-q').fill('华通');
  await page.getByRole('button', { name: '搜索' }).click();
  await page.getByRole('link', { name: NAME }).waitFor();
  assert.match(page.url(), /q=%E5%8D%8E%E9%80%9A/);
  await shot(page, 'customer-list-zh');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '导出 Excel' }).click()]);
  assert.match(download.suggestedFilename(), /^customers-\d{8}\.xlsx$/);
  const file = await download.path();
  const xml = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' });
  assert.ok(xml.includes(NAME), 'the exported sheet holds the customer');
  assert.ok(xml.includes('王建国'), 'with its primary contact');
  assert.equal((xml.match(/<row /g) || []).length, 2, 'header and the one customer the search found');
  await ctx.close();
});

test('the same pages in English', async () => {
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  await signIn(page);
  await page.getByRole('button', { name: 'English' }).click();
  await page.goto(BASE + '/customers?q=' + encodeURIComponent('华通'));
  await page.getByRole('link', { name: NAME }).click();
  await page.getByRole('heading', { name: 'Contacts (2)' }).waitFor();
  await shot(page, 'customer-detail-en');
  await page.getByRole('link', { name: 'Edit', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Edit customer' }).waitFor();
  await shot(page, 'customer-form-en');
  // The city filter holds no cities until a province is chosen, then the province's (fetched).
  await page.goto(BASE + '/customers');
  assert.equal(await page.locator('#q-city option').count(), 1);
  await page.locator('#q-province').selectOption('330000');
  await page.locator('#q-city option[value="330100"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#q-city option[value="330100"]').textContent(), 'Hangzhou');
  assert.equal(await page.locator('#q-city option[value="320100"]').count(), 0);
  await page.locator('#q-city').selectOption('330100');
  await page.locator('#q-q').fill('华通');
  await Promise.all([page.waitForURL(/city=330100/), page.getByRole('button', { name: 'Search' }).click()]);
  await page.getByRole('link', { name: NAME }).waitFor();
  assert.equal(await page.locator('#q-city').inputValue(), '330100', 'the page keeps the chosen city');
  await page.goto(BASE + '/customers');
  await shot(page, 'customer-list-en');
  await page.goto(BASE + '/contacts');
  await page.getByRole('cell', { name: /李秀英/ }).waitFor();
  await shot(page, 'contacts-list-en');
  await ctx.close();
});
