import type { Issuer, Verification } from '../../issuers/types.js';
import { ISSUER_ID_MAX } from '../../validate.js';
import { html, type Html } from '../html.js';
import { consoleNav } from './admin.js';
import {
  alertBox,
  confirmButton,
  csrfField,
  layout,
  time,
  type Confirmation,
  type Problem,
  type View,
} from './layout.js';

/** How each verification reads to an admin choosing one, and to a developer choosing an issuer. */
const VERIFICATION_TEXT: Readonly<Record<Verification, string>> = {
  client_credentials: 'verified: a token request at the issuer proves the secret',
  none: 'unverified: clients are bound without a secret or any proof',
};

export function issuersPath(view: View): string {
  return `${view.base}/admin/issuers`;
}

export interface IssuerFormValues {
  readonly issuerId: string;
  readonly issuer: string;
  readonly verification: string;
}

export const EMPTY_ISSUER_FORM: IssuerFormValues = { issuerId: '', issuer: '', verification: 'client_credentials' };

export function deleteIssuerConfirmation(view: View, issuer: Issuer, index: number): Confirmation {
  const path = `${issuersPath(view)}/${encodeURIComponent(issuer.issuer_id)}/delete`;
  return {
    id: `confirm-delete-issuer-${index}`,
    label: 'Delete',
    title: `Delete the issuer ${issuer.issuer_id}?`,
    body: html`<p>
      Developers can no longer provide the keys of its clients. It cannot be deleted while clients of it are bound to
      applications: unbind them first.
    </p>`,
    action: path,
    page: path,
    danger: true,
  };
}

function endpoint(term: string, url: string | undefined): Html {
  return url
    ? html`<dt>${term}</dt>
        <dd><code>${url}</code></dd>`
    : html``;
}

function issuerItem(view: View, issuer: Issuer, index: number): Html {
  const { metadata } = issuer;
  return html`<li>
    <h2><code>${issuer.issuer_id}</code></h2>
    <dl>
      <dt>Issuer URL</dt>
      <dd><code>${issuer.issuer}</code></dd>
      <dt>Verification</dt>
      <dd>${issuer.verification} (${VERIFICATION_TEXT[issuer.verification]})</dd>
      ${endpoint('Token endpoint', metadata.token_endpoint)} ${endpoint('JWKS', metadata.jwks_uri)}
      ${endpoint('Revocation', metadata.revocation_endpoint)}
      ${endpoint('Introspection', metadata.introspection_endpoint)}
      <dt>Registered</dt>
      <dd>${time(issuer.created_at)}</dd>
    </dl>
    <div class="actions">${confirmButton(view, deleteIssuerConfirmation(view, issuer, index))}</div>
  </li>`;
}

/** Short enough for the select's width; the list says more of each. */
const VERIFICATION_CHOICE: Readonly<Record<Verification, string>> = {
  client_credentials: 'client_credentials: the secret is proven at the issuer',
  none: 'none: clients are bound unverified',
};

function verificationField(value: string): Html {
  const option = (verification: Verification) =>
    html`<option value="${verification}" ${value === verification ? html` selected` : ''}>
      ${VERIFICATION_CHOICE[verification]}
    </option>`;
  return html`<div>
    <label for="verification">Verification</label>
    <select id="verification" name="verification">
      ${option('client_credentials')}${option('none')}
    </select>
  </div>`;
}

function registerForm(view: View, values: IssuerFormValues): Html {
  return html`<h2 id="register-issuer">Register issuer</h2>
    <p>
      Its metadata is read from the issuer itself (RFC 8414, then OpenID discovery) and must name the URL exactly. It
      must use https, unless this server allows http to a loopback host for development.
    </p>
    <form class="stack" method="post" action="${issuersPath(view)}" aria-labelledby="register-issuer">
      ${csrfField(view)}
      <div>
        <label for="issuer_id">Issuer ID</label>
        <input
          type="text"
          id="issuer_id"
          name="issuer_id"
          value="${values.issuerId}"
          required
          maxlength="${ISSUER_ID_MAX}"
          aria-describedby="issuer_id-hint"
          autocomplete="off"
          autocapitalize="off"
          spellcheck="false"
        />
        <p class="hint" id="issuer_id-hint">Its name here: letters, digits, dot, underscore and hyphen.</p>
      </div>
      <div>
        <label for="issuer">Issuer URL</label>
        <input
          type="url"
          id="issuer"
          name="issuer"
          value="${values.issuer}"
          required
          autocomplete="off"
          spellcheck="false"
        />
      </div>
      ${verificationField(values.verification)}
      <div class="actions"><button type="submit">Register</button></div>
    </form>`;
}

/** The admin's third-party issuers, and the form to register one (filled again after a refusal). */
export function issuersPage(view: View, issuers: readonly Issuer[], values: IssuerFormValues, alert?: Problem): Html {
  return layout(
    view,
    'Issuers',
    html`${consoleNav(view, 'issuers')}
      <h1>Issuers</h1>
      ${alertBox(alert)}
      <p>
        Other OAuth servers whose clients developers may provide as keys: the client keeps living at its issuer, and its
        secret is checked there, never kept here.
      </p>
      ${
        issuers.length
          ? html`<ul class="items">
              ${issuers.map((issuer, i) => issuerItem(view, issuer, i))}
            </ul>`
          : html`<p>No issuers registered yet.</p>`
      }
      ${registerForm(view, values)}`,
  );
}
