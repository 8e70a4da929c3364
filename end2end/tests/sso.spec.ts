import { expect, test } from '@playwright/test';
import { expectHeading, newPassword, person, signIn, signUpAndConfirm } from '../support/flows';

// An owner connects the company's identity provider in the browser and enforces it; a
// colleague on that domain types their email and lands in the account through the provider.

test('an owner enforces SSO and a colleague signs in through the identity provider', async ({ browser }, testInfo) => {
  const issuer = process.env.OIDC_ISSUER!;
  const domain = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.test`;
  const ownerEmail = `owner@${domain}`;
  const ownerPassword = newPassword();
  const owner = await person(browser, testInfo, 'owner');
  const colleague = await person(browser, testInfo, 'colleague');

  await signUpAndConfirm(owner.page, owner.shot, ownerEmail, ownerPassword);
  await signIn(owner.page, owner.shot, ownerEmail, ownerPassword);

  // The owner reads the redirect URI from the settings page and registers it at the provider.
  await owner.page.getByRole('link', { name: 'Single sign-on' }).click();
  await expectHeading(owner.page, 'Single sign-on');
  const redirectUri = ((await owner.page.locator('#redirect-uri').textContent()) ?? '').trim();
  expect(redirectUri).toBe(`${process.env.BASE_URL}/auth/oidc/callback`);
  const registered = await fetch(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }),
  });
  expect(registered.status).toBe(201);
  const client = (await registered.json()) as { client_id: string; client_secret: string };

  await owner.page.getByLabel('Issuer URL').fill(issuer);
  await owner.page.getByLabel('Client id').fill(client.client_id);
  await owner.page.getByLabel('Client secret').fill(client.client_secret);
  await owner.page.getByLabel('Email domains').fill(domain);
  await owner.page.getByLabel(/^Enforce/).check();
  await owner.page.getByRole('button', { name: 'Connect' }).click();
  await expect(owner.page.getByRole('status')).toHaveText(`Connected ${issuer} for ${domain}.`);
  await expect(owner.page.locator('table.sso')).toContainText('Enforced');
  await expect(owner.page.locator('body')).not.toContainText(client.client_secret);
  await owner.shot('sso-connected');

  // The colleague types their email and is sent to the provider at once.
  const carol = `carol@${domain}`;
  await colleague.page.goto('/sign-in');
  await colleague.page.getByLabel('Email', { exact: true }).fill(carol);
  await colleague.page.getByRole('button', { name: 'Continue' }).click();
  await expect(colleague.page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/interaction/'));
  await colleague.shot('provider-login');
  await colleague.page.locator('input[name="login"]').fill(carol);
  await colleague.page.locator('input[name="password"]').fill('any password');
  await colleague.page.locator('button[type="submit"]').click();

  // Back in Terminus Hub, in the owner's account.
  await expect(colleague.page).toHaveURL((url) => url.origin === process.env.BASE_URL && url.pathname === '/home');
  await expect(colleague.page.locator('body')).toContainText(`owner's account`);
  await expect(colleague.page.getByRole('listitem').filter({ hasText: 'Main' })).toBeVisible();
  await colleague.shot('home');

  await owner.context.close();
  await colleague.context.close();
});
