// roles.test.js — an administrator creates a role in the browser, gives it to a user, and
// changes its permission matrix; the user's next page load reflects each change. Screenshots of
// the user list, the user form and the role matrix in both languages go to tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, kexin, makeUser, sql } from '../lib/client.js';
import { launch, shot as fullShot } from './browser.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signIn(page, user, password) {
  await page.goto(BASE + '/login');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Welcome/ }).waitFor();
}

// Ticks or unticks one cell of the role matrix and saves the role.
async function setMatrix(page, roleId, changes) {
  await page.goto(`${BASE}/admin/roles/${roleId}/edit`);
  for (const [label, on] of changes) await page.getByRole('checkbox', { name: label, exact: true }).setChecked(on);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Role saved.', { exact: false }).waitFor();
}

// Full-page screenshots from the top, so the sticky header sits where it belongs.
async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await fullShot(page, name);
}

const orgLink = (page) => page.locator('nav.mainnav').getByRole('link', { name: 'Organisation' });

test('a role made in the browser governs what its user sees, from the next page load', async () => {
  const run = Date.now().toString(36);
  const adminUser = makeUser('ea', ['--admin']);
  const adminCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  const adminPage = await adminCtx.newPage();
  await signIn(adminPage, adminUser.username, adminUser.password);

  // The administrator creates a role that may only view the organisation.
  await adminPage.goto(BASE + '/admin/roles');
  await adminPage.getByRole('link', { name: 'New role' }).click();
  const roleName = `Org viewer ${run}`;
  const roleCode = `org_viewer_${run}`;
  await adminPage.getByLabel('Name', { exact: true }).fill(roleName);
  await adminPage.getByLabel('Code', { exact: true }).fill(roleCode);
  await adminPage.getByLabel('Data scope').selectOption('department');
  await adminPage.getByRole('checkbox', { name: 'Organisation and roles: View', exact: true }).check();
  await shot(adminPage, 'org-role-matrix-en');
  await adminPage.getByRole('button', { name: 'Save', exact: true }).click();
  await adminPage.getByText('Role created.').waitFor();
  const roleId = sql('SELECT id FROM roles WHERE code = :\'p1\'', roleCode)[0][0];
  assert.deepEqual(sql('SELECT module, action FROM role_permissions WHERE role_id = :\'p1\'', roleId), [['org', 'view']]);

  // A new user (from the command line) gets the role through the user form.
  const username = `viewer${run}`;
  const password = kexin('user', 'add', username, '--display', `Viewer ${run}`).trim();
  await adminPage.goto(`${BASE}/admin/users?q=${username}`);
  await adminPage.getByRole('link', { name: username, exact: true }).click();
  await adminPage.getByRole('link', { name: 'Edit', exact: true }).click();
  await adminPage.getByLabel(roleName).check();
  await adminPage.getByLabel('Job title').fill('Assistant');
  await shot(adminPage, 'org-user-form-en');
  await adminPage.getByRole('button', { name: 'Save', exact: true }).click();
  await adminPage.getByText('User saved.').waitFor();
  // A small sales team, so the list screenshot shows departments, managers, roles and titles.
  const dept = sql(`INSERT INTO departments (name) VALUES ('华东销售部 ${run}') RETURNING id`)[0][0];
  const team = [['王芳', '销售经理', '12.50'], ['李强', '销售代表', '5.00'], ['张伟', '销售代表', '3.00']].map(([name, title, disc], i) => {
    const login = `sales${i}${run}`;
    kexin('user', 'add', login, '--display', name);
    return { login, title, disc };
  });
  for (const [i, m] of team.entries()) {
    sql(`UPDATE users SET department_id = :'p1', title = :'p2', discount_limit = :'p3',
           manager_id = CASE WHEN :'p4' = '0' THEN NULL ELSE (SELECT id FROM users WHERE username = :'p5') END
         WHERE username = :'p6'`, dept, m.title, m.disc, String(i), team[0].login, m.login);
    sql(`INSERT INTO user_roles (user_id, role_id) SELECT id, :'p1' FROM users WHERE username = :'p2'`, roleId, m.login);
  }
  sql(`UPDATE users SET department_id = :'p1' WHERE username = :'p2'`, dept, username);
  sql(`UPDATE users SET active = false WHERE username = :'p1'`, team[2].login);
  await adminPage.goto(`${BASE}/admin/users?department=${dept}`);
  await adminPage.getByRole('link', { name: team[0].login }).waitFor();
  await shot(adminPage, 'org-users-en');

  // The user sees the Organisation link and the list, but no "New user" button.
  const userCtx = await browser.newContext({ locale: 'en-US' });
  const userPage = await userCtx.newPage();
  await signIn(userPage, username, password);
  await orgLink(userPage).click();
  await userPage.getByRole('heading', { name: 'Organisation' }).waitFor();
  await userPage.getByLabel('Search').fill(username);
  await userPage.getByRole('button', { name: 'Filter' }).click();
  await userPage.getByRole('link', { name: username, exact: true }).waitFor();
  assert.equal(await userPage.getByRole('link', { name: 'New user' }).count(), 0);

  // Granting "create" shows the button at the next page load.
  await setMatrix(adminPage, roleId, [['Organisation and roles: Create', true]]);
  await userPage.reload();
  await userPage.getByRole('link', { name: 'New user' }).waitFor();

  // Taking "view" away removes the link and the page.
  await setMatrix(adminPage, roleId, [['Organisation and roles: View', false], ['Organisation and roles: Create', false]]);
  const res = await userPage.reload();
  assert.equal(res.status(), 403);
  assert.equal(await orgLink(userPage).count(), 0);
  await userPage.goto(BASE + '/');
  assert.equal(await orgLink(userPage).count(), 0);
  await userCtx.close();

  // The same pages in Chinese.
  await adminPage.getByRole('button', { name: '中文' }).click();
  await adminPage.getByRole('link', { name: '组织架构' }).first().waitFor();
  await adminPage.goto(`${BASE}/admin/users?department=${dept}`);
  await adminPage.getByRole('link', { name: '新建用户' }).waitFor();
  await shot(adminPage, 'org-users-zh');
  const userId = sql('SELECT id FROM users WHERE username = :\'p1\'', username)[0][0];
  await adminPage.goto(`${BASE}/admin/users/${userId}/edit`);
  await adminPage.getByRole('heading', { name: '编辑用户' }).waitFor();
  await shot(adminPage, 'org-user-form-zh');
  // Give the role its view right back, in Chinese this time.
  await adminPage.goto(`${BASE}/admin/roles/${roleId}/edit`);
  for (const label of ['组织与角色：查看', '客户：查看', '客户：新建', '客户：编辑', '报价单：查看', '报价单：打印']) {
    await adminPage.getByRole('checkbox', { name: label, exact: true }).check();
  }
  await adminPage.getByRole('button', { name: '保存', exact: true }).click();
  await adminPage.getByText('角色已保存', { exact: false }).waitFor();
  assert.equal(sql('SELECT count(*) FROM role_permissions WHERE role_id = :\'p1\'', roleId)[0][0], '6');
  await adminPage.goto(`${BASE}/admin/roles/${roleId}/edit`);
  await shot(adminPage, 'org-role-matrix-zh');
  await adminCtx.close();
});
