// Passkeys (progressive enhancement; the pages work without it, by password and codes).
// - The sign-in page: the browser offers this site's passkeys on the email field
//   (autocomplete="username webauthn", conditional mediation).
// - The second step and "Confirm it's you": "Use a passkey".
// - The two-factor page: "Add a passkey".
// The ceremony's state stays on the server; this script only carries the options to
// navigator.credentials and the authenticator's answer back, then follows the redirect.
(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const fromB64 = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const toB64 = (buffer) => {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => {
      raw += String.fromCharCode(b);
    });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const post = async (url, body) => {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try {
      data = await res.json();
    } catch (_) {
      data = {
        error:
          res.status === 429
            ? "Too many attempts from your network. Please wait a few minutes and try again."
            : "Something went wrong. Please try again.",
      };
    }
    if (data.redirect && (res.ok || res.status === 401 || res.status === 403 || res.status === 409)) {
      window.location.assign(data.redirect);
      return null;
    }
    if (!res.ok) throw new Error(data.error || "Something went wrong. Please try again.");
    return data;
  };

  const creationOptions = (options) => {
    const pk = options.publicKey;
    pk.challenge = fromB64(pk.challenge);
    pk.user.id = fromB64(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => {
      c.id = fromB64(c.id);
    });
    return { publicKey: pk };
  };
  const requestOptions = (options) => {
    const pk = options.publicKey;
    pk.challenge = fromB64(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => {
      c.id = fromB64(c.id);
    });
    return { publicKey: pk };
  };
  const assertion = (cred) => ({
    id: cred.id,
    rawId: toB64(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toB64(cred.response.authenticatorData),
      clientDataJSON: toB64(cred.response.clientDataJSON),
      signature: toB64(cred.response.signature),
      userHandle: cred.response.userHandle ? toB64(cred.response.userHandle) : null,
    },
    extensions: {},
  });
  const attestation = (cred) => ({
    id: cred.id,
    rawId: toB64(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: toB64(cred.response.attestationObject),
      clientDataJSON: toB64(cred.response.clientDataJSON),
      transports: cred.response.getTransports ? cred.response.getTransports() : undefined,
    },
    extensions: {},
  });

  const showError = (el, message) => {
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
  };

  // The second step and the two-factor page show their passkey controls only with JavaScript.
  document.querySelectorAll("[data-passkey-needs-js]").forEach((el) => {
    el.hidden = true;
  });

  // Sign in with a passkey: offered on the email field (conditional UI), and by a button
  // (the browser's own passkey dialog), which first cancels the offer on the field.
  const signIn = document.querySelector("[data-passkey-sign-in]");
  if (signIn) {
    const errorBox = document.getElementById("passkey-error");
    const button = document.getElementById("sign-in-with-passkey");
    let offer = null;
    const run = async (conditional) => {
      const start = await post(signIn.dataset.passkeySignIn);
      if (!start) return;
      const options = requestOptions(start.options);
      delete options.publicKey.mediation;
      if (conditional) {
        offer = new AbortController();
        options.mediation = "conditional";
        options.signal = offer.signal;
      }
      const cred = await navigator.credentials.get(options);
      if (!cred) return;
      const done = await post(signIn.dataset.passkeyFinish, {
        handle: start.handle,
        credential: assertion(cred),
      });
      if (done && done.redirect) window.location.assign(done.redirect);
    };
    const report = (e) => {
      if (e && (e.name === "NotAllowedError" || e.name === "AbortError")) return;
      showError(errorBox, e.message);
    };
    if (button) {
      button.hidden = false;
      button.addEventListener("click", () => {
        if (offer) offer.abort();
        run(false).catch(report);
      });
    }
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available) run(true).catch(report);
      });
    }
  }

  // "Use a passkey" at the second step, and on "Confirm it's you".
  const second = document.querySelector("[data-passkey-second-step]");
  if (second) {
    const button = second.querySelector("button");
    const errorBox = second.querySelector("[role=alert]");
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        const start = await post(second.dataset.passkeySecondStep);
        if (!start) return;
        const cred = await navigator.credentials.get(requestOptions(start.options));
        const done = await post(second.dataset.passkeyFinish, {
          handle: start.handle,
          credential: assertion(cred),
        });
        if (done && done.redirect) window.location.assign(done.redirect);
      } catch (e) {
        showError(errorBox, e.message);
      }
    });
  }

  // "Add a passkey" on the two-factor page.
  const register = document.querySelector("[data-passkey-register]");
  if (register) {
    const errorBox = register.querySelector("[role=alert]");
    register.hidden = false;
    register.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = register.querySelector("input[name=name]").value;
      try {
        const start = await post(register.dataset.passkeyRegister, { name });
        if (!start) return;
        const cred = await navigator.credentials.create(creationOptions(start.options));
        const done = await post(register.dataset.passkeyFinish, {
          handle: start.handle,
          credential: attestation(cred),
        });
        if (done && done.redirect) window.location.assign(done.redirect);
      } catch (e) {
        showError(errorBox, e.message);
      }
    });
  }
})();
