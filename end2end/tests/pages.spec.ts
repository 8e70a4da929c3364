// Every page a signed-out visitor and a signed-in owner can reach, JavaScript off, checked
// at 1280px and on a 390px phone: axe-core finds no accessibility violation, nothing scrolls
// sideways, and a full-page screenshot of each is kept (test-results/<test>/<page>-<width>.png,
// CI artifacts).
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { confirmFromMail, expectHeading, newPassword, person, signUp, uniqueEmail } from '../support/flows';

const WIDTHS = [1280, 390];

/** The JavaScript-on page axe runs in (see `axe`), one for the test. */
let auditor: Page;

/**
 * axe-core on the page exactly as loaded with JavaScript off. axe needs scripts (its timers
 * never fire in a page without them), so its DOM is loaded, at the same address and width,
 * into `auditor`, a page of a JavaScript-on browser whose requests for scripts are refused:
 * the same markup and styles, none of the page's own scripts.
 */
async function axe(page: Page, auditor: Page) {
  const html = await page.content();
  const url = page.url();
  const size = page.viewportSize();
  if (size) await auditor.setViewportSize(size);
  await auditor.route('**/*', (route) => {
    const request = route.request();
    if (request.isNavigationRequest() && request.url() === url) {
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
    }
    if (request.resourceType() === 'script') return route.abort();
    return route.continue();
  });
  await auditor.goto(url);
  await auditor.unrouteAll();
  return new AxeBuilder({ page: auditor }).analyze();
}

/** Checks the page now shown at both widths; failures are soft so one run lists them all. */
async function checkPage(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const { violations } = await axe(page, auditor);
    const found = violations.map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
    expect.soft(found, `axe on ${name} at ${width}px (${page.url()})`).toEqual([]);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect.soft(overflow, `sideways scroll on ${name} at ${width}px`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: testInfo.outputPath(`${name}-${width}.png`), fullPage: true });
  }
}

/** Opens `path` and checks it. */
async function visit(page: Page, testInfo: TestInfo, name: string, path: string): Promise<void> {
  const res = await page.goto(path);
  expect(res?.status(), `${name}: GET ${path}`).toBeLessThan(400);
  expect(new URL(page.url()).pathname, `${name} was not redirected`).toBe(new URL(path, page.url()).pathname);
  await checkPage(page, testInfo, name);
}

test('every page passes axe and fits a phone, signed out and signed in', async ({ page, browser }, testInfo) => {
  test.setTimeout(600_000);
  const auditContext = await browser.newContext({ javaScriptEnabled: true });
  auditor = await auditContext.newPage();
  const noShot = async () => {};
  const email = uniqueEmail('pages');
  const password = newPassword();

  // Signed out, in a browser of its own.
  const visitor = await person(browser, testInfo, 'visitor');
  await visit(visitor.page, testInfo, 'sign-in', '/sign-in');
  await visit(visitor.page, testInfo, 'sign-up', '/sign-up');
  await visit(visitor.page, testInfo, 'forgot', '/forgot');
  await visit(visitor.page, testInfo, 'resend', '/resend-confirmation');
  await visit(visitor.page, testInfo, 'direct-sign-in', '/sign-in/direct');

  // Sign up (check email), confirm and land on home.
  await signUp(page, noShot, email);
  await checkPage(page, testInfo, 'check-email');
  await confirmFromMail(page, noShot, email, password);

  // The password step, for the person who now exists.
  await visitor.page.goto('/sign-in');
  await visitor.page.getByLabel('Email', { exact: true }).fill(email);
  await visitor.page.getByRole('button', { name: 'Continue' }).click();
  await expect(visitor.page).toHaveURL((url) => url.pathname === '/sign-in/password');
  await checkPage(visitor.page, testInfo, 'password-step');
  await visitor.context.close();

  // Signed in: a workspace with a record, and an API key.
  await page.setViewportSize({ width: 1280, height: 900 });
  await visit(page, testInfo, 'home', '/home');
  await page.getByLabel('Name', { exact: true }).fill('Customers');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await expectHeading(page, 'Customers');
  const workspace = new URL(page.url()).pathname;
  await page.getByLabel('Data (a JSON object)').fill('{"name": "Ada"}');
  await page.getByRole('button', { name: 'Add record' }).click();
  await expectHeading(page, 'Record');
  const record = new URL(page.url()).pathname;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/settings/api-keys');
  await page.getByLabel('Name', { exact: true }).fill('CI pipeline');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expectHeading(page, 'Your new API key');
  await expect(page.locator('#new-key-curl')).toContainText('/api/v1/workspaces');
  await checkPage(page, testInfo, 'api-key-shown-once');

  await visit(page, testInfo, 'workspace', workspace);
  await visit(page, testInfo, 'record', record);
  await visit(page, testInfo, 'workspace-delete', `${workspace}/delete`);
  await visit(page, testInfo, 'account-settings', '/settings/account');
  await visit(page, testInfo, 'members', '/settings/members');
  await visit(page, testInfo, 'activity', '/settings/activity');
  await visit(page, testInfo, 'api-keys', '/settings/api-keys');
  await visit(page, testInfo, 'domains', '/settings/domains');
  await visit(page, testInfo, 'sso', '/settings/sso');
  await visit(page, testInfo, 'security', '/settings/security');
  await visit(page, testInfo, 'two-factor', '/settings/security/two-factor');
  await visit(page, testInfo, 'security-email', '/settings/security/email');
  await visit(page, testInfo, 'reauthenticate', '/reauthenticate');
  await visit(page, testInfo, 'account-picker', '/accounts');
  await auditContext.close();
});
