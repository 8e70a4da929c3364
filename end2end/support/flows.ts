// Steps shared by the specs. Every page visited is saved as a numbered full-page
// screenshot in the test's output folder (test-results/<test>/NN-name.png).
import { expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { linkFrom, waitForMessage } from './mail';

export const GENERIC_SIGN_IN_ERROR =
  'Incorrect email or password. Locked out or not confirmed yet? Check your email.';

const random = () => Math.random().toString(36).slice(2, 10);

/** A fresh address for one test, e.g. alice-1732251111111-k3j9x2ab@example.com. */
export function uniqueEmail(name: string): string {
  return `${name}-${Date.now()}-${random()}@example.com`;
}

/** A password that is long enough and on no common-password list. */
export function newPassword(): string {
  return `Terminus-${random()}-${random()}`;
}

export type Shot = (name: string) => Promise<void>;

/** Returns shot(name): a full-page screenshot saved as NN-name.png, numbered in order. */
export function screenshots(page: Page, testInfo: TestInfo): Shot {
  let n = 0;
  return async (name: string) => {
    n += 1;
    const file = `${String(n).padStart(2, '0')}-${name}.png`;
    await page.screenshot({ path: testInfo.outputPath(file), fullPage: true });
  };
}

function pathIs(path: string) {
  return (url: URL) => url.pathname === path;
}

export async function expectHeading(page: Page, name: string): Promise<void> {
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
}

/** Sign up through /sign-up (an email only) and land on the check-your-email page. */
export async function signUp(page: Page, shot: Shot, email: string): Promise<void> {
  await page.goto('/sign-up');
  await expectHeading(page, 'Create your account');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('type', 'email');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('autocomplete', 'username');
  // No password here: whoever opens the emailed link chooses it.
  await expect(page.locator('input[type=password]')).toHaveCount(0);
  await shot('sign-up');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page).toHaveURL(pathIs('/check-email'));
  await expectHeading(page, 'Check your email');
  await expect(page.locator('body')).toContainText(email);
  await expect(page.getByRole('button', { name: 'Resend email' })).toBeVisible();
  await shot('check-email');
}

/**
 * Open the confirmation link from the mail, choose the password on the page behind it and
 * land, signed in, on the home page with "Main".
 */
export async function confirmFromMail(page: Page, shot: Shot, email: string, password: string): Promise<void> {
  const mail = await waitForMessage(email, 'Confirm your email address');
  const link = linkFrom(mail, '/confirm');
  expect(new URL(link).origin).toBe(process.env.BASE_URL);
  await page.goto(link);
  // The token leaves the address bar (and so the Referer) at once.
  await expect(page).toHaveURL((url) => url.pathname === '/confirm' && !url.search.includes('token'));
  await expectHeading(page, 'Choose your password');
  await expect(page.locator('body')).toContainText(email);
  // Password managers see which account the new password is for.
  await expect(page.locator('input[autocomplete="username"]')).toHaveValue(email);
  const field = page.getByLabel('Password', { exact: true });
  await expect(field).toHaveAttribute('autocomplete', 'new-password');
  await shot('choose-password');

  // A common password is refused with the reason next to the field, and focus goes there.
  await field.fill('password1');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(pathIs('/confirm'));
  await expect(page.locator('body')).toContainText('too common or too easy to guess');
  await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
  await shot('password-refused');

  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(pathIs('/home'));
  await expect(page.getByRole('status')).toHaveText('Your email is confirmed and your account is ready.');
  await expectHome(page, shot);
}

/** Sign up, confirm with `password` (signed in on /home), then sign out. */
export async function signUpAndConfirm(page: Page, shot: Shot, email: string, password: string): Promise<void> {
  await signUp(page, shot, email);
  await confirmFromMail(page, shot, email, password);
  await signOut(page, shot);
}

/**
 * Both sign-in steps from the current page if it is /sign-in, else from a fresh
 * /sign-in. Leaves the browser wherever the server sent it after "Sign in".
 */
export async function submitSignIn(page: Page, shot: Shot, email: string, password: string, label: string): Promise<void> {
  if (new URL(page.url()).pathname !== '/sign-in') await page.goto('/sign-in');
  await expectHeading(page, 'Sign in');
  await expect(page.getByRole('link', { name: 'Create an account' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Forgot your password?' })).toBeVisible();
  await shot(`${label}-email`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page).toHaveURL(pathIs('/sign-in/password'));
  await expectHeading(page, 'Sign in');
  const shownEmail = page.getByLabel('Email', { exact: true });
  await expect(shownEmail).toHaveValue(email);
  await expect(shownEmail).not.toBeEditable();
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('autocomplete', 'current-password');
  await shot(`${label}-password`);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Sign in and expect the home page with the Main workspace. */
export async function signIn(page: Page, shot: Shot, email: string, password: string, label = 'sign-in'): Promise<void> {
  await submitSignIn(page, shot, email, password, label);
  await expectHome(page, shot);
}

export async function expectHome(page: Page, shot: Shot): Promise<void> {
  await expect(page).toHaveURL(pathIs('/home'));
  await expect(page.getByRole('heading', { name: 'Workspaces', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Main', exact: true })).toBeVisible();
  await shot('home');
}

/** Sign in and expect the one generic refusal. */
export async function expectSignInRefused(
  page: Page,
  shot: Shot,
  email: string,
  password: string,
  label: string,
): Promise<void> {
  await submitSignIn(page, shot, email, password, label);
  await expect(page.getByRole('alert')).toHaveText(GENERIC_SIGN_IN_ERROR);
  expect(new URL(page.url()).pathname).not.toBe('/home');
  await shot(`${label}-refused`);
}

export async function signOut(page: Page, shot: Shot): Promise<void> {
  // On signed-in pages "Sign out" sits in the user menu (a <details>, opened without JavaScript).
  const userMenu = page.locator('details.user-menu > summary');
  if (await userMenu.count()) {
    await userMenu.click();
    await shot('user-menu-open');
  }
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(pathIs('/sign-in'));
  await expectHeading(page, 'Sign in');
  await shot('signed-out');
}

/**
 * A second person with a browser of their own (a new context, JavaScript off like the
 * rest of the suite); their screenshots are prefixed with `name`.
 */
export async function person(browser: Browser, testInfo: TestInfo, name: string) {
  const context = await browser.newContext({ baseURL: process.env.BASE_URL, javaScriptEnabled: false });
  const page = await context.newPage();
  const shot = screenshots(page, testInfo);
  return { context, page, shot: ((n: string) => shot(`${name}-${n}`)) as Shot };
}
