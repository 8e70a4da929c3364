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
    // No word in a table is split across lines ("Ful / l acc / ess"): ids, codes and
    // addresses may break anywhere, words may not.
    const split = await page.evaluate(() => {
      const broken: string[] = [];
      for (const cell of Array.from(document.querySelectorAll('th, td'))) {
        // (Below 640px a table's header row is there for screen readers only, 1px wide.)
        const box = (cell.closest('thead') ?? cell).getBoundingClientRect();
        if (box.width <= 1) continue;
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (node.parentElement?.closest('code, .address, pre, .visually-hidden')) continue;
          const text = node.textContent ?? '';
          // (A hyphen is a place to break, and a word longer than 160px may have to break on
          // a phone: a long account name; any shorter one split means a squeezed column.)
          for (const match of text.matchAll(/[^\s-]+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index ?? 0);
            range.setEnd(node, (match.index ?? 0) + match[0].length);
            const rects = Array.from(range.getClientRects());
            const lines = new Set(rects.map((r) => Math.round(r.top)));
            const width = rects.reduce((sum, r) => sum + r.width, 0);
            if (lines.size > 1 && width <= 160) broken.push(match[0]);
          }
        }
      }
      return broken;
    });
    expect.soft(split, `words split in tables on ${name} at ${width}px`).toEqual([]);
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

/** The page's `<h1>` comes before every message on it (a page starts with its heading). */
async function expectHeadingBeforeMessages(page: Page, name: string): Promise<void> {
  const order = await page.evaluate(() => {
    const h1 = document.querySelector('main h1');
    const messages = [...document.querySelectorAll('main [role="status"], main [role="alert"]')];
    return {
      messages: messages.length,
      after: messages.filter((m) => h1 !== null && (h1.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0).length,
    };
  });
  expect(order.messages, `${name}: a message is shown`).toBeGreaterThan(0);
  expect(order.after, `${name}: every message comes after the h1`).toBe(order.messages);
}

test('scopes read in words, messages follow the heading, and ids and TXT records copy', async ({ page, browser }, testInfo) => {
  const email = uniqueEmail('polish');
  const noShot = async () => {};
  await signUp(page, noShot, email);
  await confirmFromMail(page, noShot, email, newPassword());

  // The create-key form: each scope in plain words, its code beside it, the form's names kept.
  await page.goto('/settings/api-keys');
  for (const [words, code] of [
    ['Read workspaces', 'workspaces:read'],
    ['Read and write workspaces', 'workspaces:write'],
    ['Read records', 'records:read'],
    ['Read and write records', 'records:write'],
  ]) {
    const box = page.getByRole('checkbox', { name: `${words} ${code}`, exact: true });
    await expect(box).toHaveAttribute('name', code);
    await expect(page.locator(`label[for="${await box.getAttribute('id')}"] code`)).toHaveText(code);
  }
  // A failed submit: the first field in error has the focus.
  await page.getByLabel('Expires on (optional)').fill('2001-02-03');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByText('Give the key a name.')).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toBeFocused();
  await page.getByLabel('Name', { exact: true }).fill('deploy bot');
  await page.getByLabel('Expires on (optional)').fill('2001-02-03');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByLabel('Expires on (optional)')).toBeFocused();

  // Flash messages come after the heading.
  await page.goto('/home');
  await page.getByLabel('Name', { exact: true }).fill('Ledger');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await expectHeading(page, 'Ledger');
  await expectHeadingBeforeMessages(page, 'workspace');
  const workspaceId = ((await page.locator('#workspace-id').textContent()) ?? '').trim();
  const domain = `copy-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.test`;
  await page.goto('/settings/domains');
  await page.getByLabel('Domain', { exact: true }).fill(domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('status')).toContainText(`${domain} added`);
  await expectHeadingBeforeMessages(page, 'domains');
  // Before the record is published, Verify answers with an error message.
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('alert')).toContainText('No TXT record');
  await expectHeadingBeforeMessages(page, 'domains with an error');
  // The page with a record to publish passes axe and fits a phone too.
  const auditContext = await browser.newContext({ javaScriptEnabled: true });
  auditor = await auditContext.newPage();
  await checkPage(page, testInfo, 'domains-with-record');
  await auditContext.close();
  await page.setViewportSize({ width: 1280, height: 900 });
  // Without JavaScript the copy buttons stay hidden; the text is there to select.
  await expect(page.locator('button[data-copy]').first()).toBeHidden();

  // With JavaScript (and clipboard access), in the same session: every button is shown and
  // copies its own text.
  const js = await browser.newContext({
    baseURL: process.env.BASE_URL,
    javaScriptEnabled: true,
    storageState: await page.context().storageState(),
  });
  await js.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: process.env.BASE_URL });
  const jsPage = await js.newPage();
  const copies = async (target: string, expected: string | RegExp) => {
    const text = jsPage.locator(`[id="${target}"]`);
    await expect(text).toHaveText(expected);
    const button = jsPage.locator(`button[data-copy="${target}"]`);
    await expect(button).toBeVisible();
    await button.click();
    await expect(button).toHaveText('Copied');
    const copied = await jsPage.evaluate(() => navigator.clipboard.readText());
    expect(copied, `the clipboard after copying #${target}`).toBe(((await text.textContent()) ?? '').trim());
  };
  await jsPage.goto('/settings/domains');
  const nameId = (await jsPage.locator('code[id^="txt-name-"]').getAttribute('id')) ?? '';
  const domainId = nameId.replace('txt-name-', '');
  expect(domainId).toMatch(/^dom_[0-9a-z]+$/);
  await copies(`txt-name-${domainId}`, `_terminus-hub-challenge.${domain}`);
  await copies(`txt-value-${domainId}`, /^terminus-hub-verification=[0-9a-f]{32}$/);
  // Workspace ids: in the list and on the workspace's page.
  await jsPage.goto('/home');
  await copies(`ws-id-${workspaceId}`, workspaceId);
  await jsPage.goto(`/workspaces/${workspaceId}`);
  await copies('workspace-id', workspaceId);
  // The shown buttons fit a phone too.
  for (const path of ['/settings/domains', '/home', `/workspaces/${workspaceId}`]) {
    await jsPage.goto(path);
    for (const width of WIDTHS) {
      await jsPage.setViewportSize({ width, height: 900 });
      const overflow = await jsPage.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect.soft(overflow, `sideways scroll on ${path} with its copy buttons at ${width}px`).toBeLessThanOrEqual(0);
      const name = path.split('/').pop() === workspaceId ? 'workspace' : path.split('/').pop();
      await jsPage.screenshot({ path: testInfo.outputPath(`copy-${name}-${width}.png`), fullPage: true });
    }
  }
  await js.close();
});
