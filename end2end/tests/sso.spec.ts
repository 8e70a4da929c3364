import { expect, test } from '@playwright/test';
import { expectHeading, newPassword, person, signIn, signUpAndConfirm } from '../support/flows';
import { linkFrom, waitForMail } from '../support/mail';

// An owner proves their company's domain by DNS, connects its identity provider, completes a
// test sign-in and confirms enforcement; a colleague on that domain types their email and
// lands in the account through the provider; someone invited onto that domain joins through the
// provider too.

async function publish(name: string, value: string): Promise<void> {
  const res = await fetch(`${process.env.DNS_CONTROL_URL}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, value }),
  });
  expect(res.status).toBe(204);
}

test('an owner verifies a domain, tests and enforces SSO; a colleague signs in through the provider', async ({ browser }, testInfo) => {
  const issuer = process.env.OIDC_ISSUER!;
  const domain = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.test`;
  const ownerEmail = `owner@${domain}`;
  const ownerPassword = newPassword();
  const owner = await person(browser, testInfo, 'owner');
  const colleague = await person(browser, testInfo, 'colleague');

  await signUpAndConfirm(owner.page, owner.shot, ownerEmail, ownerPassword);
  await signIn(owner.page, owner.shot, ownerEmail, ownerPassword);

  // Domains: add the domain, publish the TXT record the page shows, verify.
  await owner.page.getByRole('link', { name: 'Domains' }).click();
  await expectHeading(owner.page, 'Domains');
  await owner.page.getByLabel('Domain', { exact: true }).fill(domain.toUpperCase() + '.');
  await owner.page.getByRole('button', { name: 'Add domain' }).click();
  await expect(owner.page.getByRole('status')).toContainText(`${domain} added`);
  const record = owner.page.locator('dl.record code');
  const name = ((await record.nth(0).textContent()) ?? '').trim();
  const value = ((await record.nth(1).textContent()) ?? '').trim();
  expect(name).toBe(`_terminus-hub-challenge.${domain}`);
  expect(value).toMatch(/^terminus-hub-verification=[0-9a-f]{32}$/);
  await owner.shot('domain-added');
  // Before the record exists, Verify says so.
  await owner.page.getByRole('button', { name: 'Verify' }).click();
  await expect(owner.page.getByRole('alert')).toContainText(`No TXT record ${name}`);
  await publish(name, value);
  await owner.page.getByRole('button', { name: 'Verify' }).click();
  await expect(owner.page.getByRole('status')).toContainText(`${domain} is verified`);
  await owner.shot('domain-verified');

  // Single sign-on: register the redirect URI at the provider, connect it for the domain.
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
  await expect(owner.page.getByLabel('Domains', { exact: true })).toHaveValue(domain);
  await owner.page.getByRole('button', { name: 'Connect' }).click();
  await expect(owner.page.getByRole('status')).toContainText(`Connected ${issuer} for ${domain}.`);
  await expect(owner.page.locator('table.sso')).toContainText('No test sign-in yet');
  await expect(owner.page.locator('body')).not.toContainText(client.client_secret);
  await owner.shot('sso-connected');

  // The test sign-in: through the provider and back to the settings.
  await owner.page.getByRole('button', { name: 'Test sign-in' }).click();
  await expect(owner.page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/interaction/'));
  await owner.page.locator('input[name="login"]').fill(ownerEmail);
  await owner.page.locator('input[name="password"]').fill('any password');
  await owner.page.locator('button[type="submit"]').click();
  await expect(owner.page).toHaveURL((url) => url.origin === process.env.BASE_URL && url.pathname === '/settings/sso');
  await expect(owner.page.getByRole('status')).toContainText('Test sign-in succeeded');
  await owner.shot('test-sign-in');

  // Enforcement, behind a confirmation that says whom it affects.
  await owner.page.getByRole('link', { name: 'Enforce…' }).click();
  await expectHeading(owner.page, 'Enforce single sign-on');
  await expect(owner.page.locator('body')).toContainText('affects 0 people');
  await owner.shot('enforce-confirm');
  await owner.page.getByRole('button', { name: 'Enforce single sign-on' }).click();
  await expect(owner.page.getByRole('status')).toContainText('now enforced');
  await expect(owner.page.locator('table.sso')).toContainText('Enforced');
  await owner.shot('sso-enforced');

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
  await expect(colleague.page.getByRole('link', { name: 'Main', exact: true })).toBeVisible();
  await colleague.shot('home');

  // "Create users on first sign-in" is the owner's choice, off unless they turn it on.
  await expect(owner.page.locator('table.sso')).toContainText('Create users on first sign-in: off');

  // Enforcement holds at the invitation too: Dana, invited on the enforced domain, joins
  // through the provider and never gets a password field.
  const dana = `dana@${domain}`;
  const invitee = await person(browser, testInfo, 'invitee');
  await owner.page.getByRole('link', { name: 'Members' }).click();
  await expectHeading(owner.page, 'Members');
  await owner.page.getByLabel('Email', { exact: true }).fill(dana);
  await owner.page.getByLabel('Role', { exact: true }).selectOption('member');
  await owner.page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(owner.page.getByRole('status')).toHaveText(`Invitation sent to ${dana}.`);
  const [invitation] = await waitForMail(dana, 1);
  await invitee.page.goto(linkFrom(invitation, '/invite'));
  await expect(invitee.page).toHaveURL((url) => url.pathname === '/invite' && !url.search.includes('token'));
  await expect(invitee.page.locator('input[type="password"]')).toHaveCount(0);
  await invitee.shot('invitation-through-sso');
  await invitee.page.getByRole('button', { name: 'Continue with single sign-on' }).click();
  await expect(invitee.page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/interaction/'));
  await invitee.page.locator('input[name="login"]').fill(dana);
  await invitee.page.locator('input[name="password"]').fill('any password');
  await invitee.page.locator('button[type="submit"]').click();
  await expect(invitee.page).toHaveURL((url) => url.origin === process.env.BASE_URL && url.pathname === '/home');
  await expect(invitee.page.getByRole('status')).toContainText(`Welcome to owner's account`);
  await invitee.shot('joined-through-sso');

  await owner.context.close();
  await colleague.context.close();
  await invitee.context.close();
});
