// login.test.js — a person signs in as admin in Chinese and in English, changes the password,
// and signs out; screenshots go to tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, adminPassword } from '../lib/client.js';
import { launch, shot } from './browser.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signIn(page, user, password, labels) {
  await page.goto(BASE + '/');
  await page.getByLabel(labels.user).fill(user);
  await page.getByLabel(labels.password, { exact: true }).fill(password);
  await page.getByRole('button', { name: labels.submit }).click();
}

test('admin signs in and out in Chinese (the default language)', async () => {
  const ctx = await browser.newContext({ locale: 'zh-CN' });
  const page = await ctx.newPage();
  await page.goto(BASE + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await shot(page, 'login-zh');
  await signIn(page, 'admin', adminPassword(), { user: '用户名', password: '密码', submit: '登录' });
  await page.getByRole('heading', { name: /欢迎/ }).waitFor();
  await shot(page, 'home-zh');
  await page.locator('summary', { hasText: '系统管理员' }).click();
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.getByText('您已退出登录。').waitFor();
  await shot(page, 'logged-out-zh');
  await ctx.close();
});

test('wrong password in English keeps the user name and says why', async () => {
  const ctx = await browser.newContext({ locale: 'en-US' });
  const page = await ctx.newPage();
  await signIn(page, 'admin', 'definitely-wrong', { user: 'User name', password: 'Password', submit: 'Sign in' });
  await page.getByText('Wrong user name or password.').waitFor();
  assert.equal(await page.getByLabel('User name').inputValue(), 'admin');
  assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
  await shot(page, 'login-error-en');
  await ctx.close();
});

test('admin switches language, changes the password, signs out and back in', async () => {
  const ctx = await browser.newContext({ locale: 'zh-CN' });
  const page = await ctx.newPage();
  const original = adminPassword();
  await signIn(page, 'admin', original, { user: '用户名', password: '密码', submit: '登录' });
  await page.getByRole('heading', { name: /欢迎/ }).waitFor();
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: /Welcome/ }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await shot(page, 'home-en');

  const fresh = 'Kx-' + Math.random().toString(36).slice(2, 12);
  await page.goto(BASE + '/account/password');
  // A mismatch first: the form comes back with a message under the field.
  await page.getByLabel('Current password').fill(original);
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Repeat new password').fill(fresh + 'x');
  await page.getByRole('button', { name: 'Save new password' }).click();
  await page.getByText('The two new passwords differ.').waitFor();
  await shot(page, 'password-error-en');
  await page.getByLabel('Current password').fill(original);
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Repeat new password').fill(fresh);
  await page.getByRole('button', { name: 'Save new password' }).click();
  await page.getByText('Your password has been changed.', { exact: false }).waitFor();
  await shot(page, 'password-changed-en');

  await page.locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You have signed out.').waitFor();
  // The old password is refused, the new one works.
  await signIn(page, 'admin', original, { user: 'User name', password: 'Password', submit: 'Sign in' });
  await page.getByText('Wrong user name or password.').waitFor();
  await signIn(page, 'admin', fresh, { user: 'User name', password: 'Password', submit: 'Sign in' });
  await page.getByRole('heading', { name: /Welcome/ }).waitFor();

  // Put the original back so the stack's admin-password file stays true.
  await page.goto(BASE + '/account/password');
  await page.getByLabel('Current password').fill(fresh);
  await page.getByLabel('New password', { exact: true }).fill(original);
  await page.getByLabel('Repeat new password').fill(original);
  await page.getByRole('button', { name: 'Save new password' }).click();
  await page.getByText('Your password has been changed.', { exact: false }).waitFor();
  await ctx.close();
});
