import type { Issuer, Verification } from '../../issuers/types.js';
import type { ClientView } from '../../registry.js';
import type { Application, Binding, KeyType } from '../../types.js';
import { CLIENT_ID_MAX, SECRET_MAX } from '../../validate.js';
import { html, type Html } from '../html.js';
import { alertBox, buttonTo, confirmButton, csrfField, layout, time, type Problem, type View } from './layout.js';

/** A secret just made, shown in the one response that made it. */
export interface SecretShown {
  readonly keyType: KeyType;
  readonly clientId: string;
  readonly secret: string;
}

export interface KeyRegionSettings {
  readonly mode: 'owner' | 'admin';
  /** The bound client's record (for its grant types), when it could be read. */
  readonly client: ClientView | undefined;
  readonly provideKeys: boolean;
  readonly tokenEndpoint: string;
  readonly secret: SecretShown | undefined;
  /** A fresh nonce for a form that produces a secret. */
  readonly once: string;
}

export function applicationPath(view: View, app: Pick<Application, 'id'>, mode: 'owner' | 'admin' = 'owner'): string {
  return `${view.base}${mode === 'admin' ? '/admin' : ''}/applications/${encodeURIComponent(app.id)}`;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A ready token request for a client_credentials client; the secret is the reader's shell variable. */
function curl(clientId: string, tokenEndpoint: string): Html {
  const user = `${shellQuote(`${clientId}:`)}"$CLIENT_SECRET"`;
  const command = `curl -s -u ${user} -d grant_type=client_credentials ${shellQuote(tokenEndpoint)}`;
  return html`<h3>Get a token</h3>
    <p class="hint">With <code>CLIENT_SECRET</code> set to the client secret:</p>
    <pre><code>${command}</code></pre>`;
}

export function secretPanel(shown: SecretShown): Html {
  const id = `secret-${shown.keyType}`;
  return html`<div class="secret" role="group" aria-labelledby="${id}-title">
    <h3 id="${id}-title">New client secret</h3>
    <p>
      <strong>Copy it now: it is shown this once.</strong> It is not kept where anyone can read it back, and this page
      will not show it again.
    </p>
    <p>
      <code id="${id}">${shown.secret}</code>
      <button type="button" class="secondary" data-copy="${id}" data-copy-status="${id}-status" hidden>Copy</button>
      <span id="${id}-status" role="status"></span>
    </p>
  </div>`;
}

const ORIGIN_TEXT = {
  provided: 'provided (created elsewhere; its secret is managed there)',
  generated: 'generated (created for this application)',
} as const;

/** The bound client's record, for a client of this provider; a third-party issuer's has none here. */
export function boundClient(
  binding: Binding | undefined,
  clients: ReadonlyMap<string, ClientView>,
): ClientView | undefined {
  return binding && binding.issuer_id === undefined ? clients.get(binding.client_id) : undefined;
}

function unbindText(binding: Binding): Html {
  if (binding.issuer_id !== undefined) {
    return html`<p>
      The client <code>${binding.client_id}</code> lives at its issuer,
      <code>${binding.issuer ?? binding.issuer_id}</code>: it is <strong>kept</strong> there, and can be provided again,
      to this or another application.
    </p>`;
  }
  return binding.origin === 'provided'
    ? html`<p>
        The client <code>${binding.client_id}</code> was provided: it is <strong>kept</strong>, and can be bound again,
        to this or another application. Tokens issued under this binding stop being active.
      </p>`
    : html`<p>
        The client <code>${binding.client_id}</code> was generated for this application: it is <strong>deleted</strong>,
        and its tokens stop working.
      </p>`;
}

/** Where a third-party issuer's client lives, and whether its possession was proven when it was bound. */
function issuerRows(binding: Binding): Html {
  if (binding.issuer_id === undefined) return html``;
  return html`<dt>Issuer</dt>
    <dd>${binding.issuer ? html`<code>${binding.issuer}</code> (${binding.issuer_id})` : binding.issuer_id}</dd>
    ${
      binding.verification === 'none'
        ? html`<dt>Verification</dt>
            <dd>none: bound without a proof that the client is yours</dd>`
        : ''
    }`;
}

function boundKeys(view: View, app: Application, binding: Binding, settings: KeyRegionSettings): Html {
  const path = `${applicationPath(view, app)}/keys/${binding.key_type}`;
  const grants = Array.isArray(settings.client?.grant_types) ? settings.client.grant_types : [];
  const changeable = settings.mode === 'owner' && app.status === 'ACTIVE';
  const shown = settings.secret?.keyType === binding.key_type ? settings.secret : undefined;
  return html`<dl>
      <dt>Client ID</dt>
      <dd><code>${binding.client_id}</code></dd>
      ${issuerRows(binding)}
      <dt>Origin</dt>
      <dd>${ORIGIN_TEXT[binding.origin]}</dd>
      <dt>Bound at</dt>
      <dd>${time(binding.bound_at)}</dd>
      <dt>Bound by</dt>
      <dd>${binding.bound_by}</dd>
      ${
        grants.length
          ? html`<dt>Grant types</dt>
              <dd>${grants.join(', ')}</dd>`
          : ''
      }
    </dl>
    ${shown ? secretPanel(shown) : ''}
    ${grants.includes('client_credentials') ? curl(binding.client_id, settings.tokenEndpoint) : ''}
    ${
      changeable
        ? html`<div class="actions">
            ${confirmButton(view, {
              id: `confirm-unbind-${binding.key_type}`,
              label: 'Unbind',
              title: `Unbind the ${binding.key_type} keys?`,
              body: unbindText(binding),
              action: `${path}/unbind`,
              page: `${path}/unbind`,
              danger: true,
            })}
            ${
              binding.origin === 'generated'
                ? confirmButton(view, {
                    id: `confirm-secret-${binding.key_type}`,
                    label: 'Regenerate secret',
                    title: `Regenerate the ${binding.key_type} secret?`,
                    body: html`<p>
                      A new secret replaces the current one at once: whatever still uses the current one stops getting
                      tokens. The new secret is shown once.
                    </p>`,
                    action: `${path}/secret`,
                    page: `${path}/secret`,
                    fields: html`<input type="hidden" name="once" value="${settings.once}" />`,
                  })
                : ''
            }
          </div>`
        : ''
    }`;
}

/** One key type of an application: a region named by the key type. */
export function keyRegion(view: View, app: Application, keyType: KeyType, settings: KeyRegionSettings): Html {
  const binding = app.keys[keyType];
  const path = `${applicationPath(view, app)}/keys/${keyType}`;
  const id = `keys-${keyType}`;
  let content: Html;
  if (binding) {
    content = boundKeys(view, app, binding, settings);
  } else if (settings.mode === 'owner' && app.status === 'ACTIVE') {
    content = html`<p>No ${keyType} keys yet: provide the keys of a client created elsewhere, or generate new ones.</p>
      <div class="actions">
        ${settings.provideKeys ? buttonTo(`${path}/provide`, 'Provide keys') : ''}${buttonTo(
          `${path}/generate`,
          'Generate keys',
          { secondary: settings.provideKeys },
        )}
      </div>`;
  } else {
    content = html`<p>No ${keyType} keys.</p>`;
  }
  return html`<section class="keys card" aria-labelledby="${id}">
    <h2 id="${id}">${keyType}</h2>
    ${content}
  </section>`;
}

export interface ProvideFormValues {
  readonly clientId: string;
  /** '' for a client of this provider. */
  readonly issuerId: string;
}

/** This provider or a registered third-party issuer; the script makes the secret optional for an unverified one. */
function issuerField(issuers: readonly Issuer[], chosen: string): Html {
  const option = (value: string, label: string, verification?: Verification) =>
    html`<option
      value="${value}"
      ${verification ? html` data-verification="${verification}"` : ''}
      ${chosen === value ? html` selected` : ''}
    >
      ${label}
    </option>`;
  return html`<div>
    <label for="issuer_id">Issuer</label>
    <select id="issuer_id" name="issuer_id" data-secret="client_secret" aria-describedby="issuer_id-hint">
      ${option('', 'This provider')}
      ${issuers.map((issuer) =>
        option(
          issuer.issuer_id,
          `${issuer.issuer_id} (${issuer.issuer})${issuer.verification === 'none' ? ', unverified' : ''}`,
          issuer.verification,
        ),
      )}
    </select>
    <p class="hint" id="issuer_id-hint">Where the client was created: this server, or another OAuth server.</p>
  </div>`;
}

/** The secret's note when an issuer may be chosen: where it is checked, and when none is needed. */
function secretHint(issuers: readonly Issuer[]): Html {
  if (issuers.length === 0) return html``;
  const checked = "Checked by the client's issuer.";
  const text = issuers.some((issuer) => issuer.verification === 'none')
    ? `${checked} Not needed for an unverified issuer: its clients are bound without one, so the binding is unverified.`
    : checked;
  return html`<p class="hint" id="client_secret-hint">${text}</p>`;
}

export function provideForm(
  view: View,
  app: Application,
  keyType: KeyType,
  values: ProvideFormValues,
  issuers: readonly Issuer[],
  alert?: Problem,
): Html {
  const back = applicationPath(view, app);
  // without the script the secret cannot follow the chosen issuer: required only if every issuer needs it
  const secretRequired = issuers.every((issuer) => issuer.verification !== 'none');
  return layout(
    view,
    `Provide keys · ${app.name}`,
    html`<h1>Provide keys</h1>
      <p>
        Bind a client created elsewhere to <strong>${app.name}</strong> as its ${keyType} keys. Its secret proves that
        the client is yours; it is checked, not kept.
      </p>
      ${alertBox(alert)}
      <form class="stack" method="post" action="${back}/keys/${keyType}/provide">
        ${csrfField(view)} ${issuers.length ? issuerField(issuers, values.issuerId) : ''}
        ${clientIdField(values.clientId)}
        <div>
          <label for="client_secret">Client secret</label>
          <input
            type="password"
            id="client_secret"
            name="client_secret"
            ${secretRequired ? html` required` : ''}
            maxlength="${SECRET_MAX}"
            autocomplete="off"
            ${issuers.length ? html` aria-describedby="client_secret-hint"` : ''}
          />
          ${secretHint(issuers)}
        </div>
        <div class="actions">
          <button type="submit">Save</button><a class="button secondary" href="${back}">Cancel</a>
        </div>
      </form>`,
  );
}

export interface GenerateFormValues {
  readonly grantTypes: string;
  readonly redirectUris: string;
}

const GRANT_HINT = 'Separated by spaces: client_credentials, authorization_code, refresh_token.';

/** The client ID field of Provide keys and Register client (read-only when a client is replaced). */
export function clientIdField(value: string, { readonly = false } = {}): Html {
  return html`<div>
    <label for="client_id">Client ID</label>
    <input
      type="text"
      id="client_id"
      name="client_id"
      value="${value}"
      required
      maxlength="${CLIENT_ID_MAX}"
      autocomplete="off"
      autocapitalize="off"
      spellcheck="false"
      ${readonly ? html` readonly` : ''}
    />
  </div>`;
}

/** The grant types and redirect URIs of a client, as both Generate keys and Register client ask for them. */
export function grantFields(values: { readonly grantTypes: string; readonly redirectUris: string }): Html {
  return html`<div>
      <label for="grant_types">Grant types</label>
      <input
        type="text"
        id="grant_types"
        name="grant_types"
        value="${values.grantTypes}"
        required
        aria-describedby="grant_types-hint"
        autocapitalize="off"
        spellcheck="false"
      />
      <p class="hint" id="grant_types-hint">${GRANT_HINT}</p>
    </div>
    <div>
      <label for="redirect_uris">Redirect URIs</label>
      <textarea
        id="redirect_uris"
        name="redirect_uris"
        aria-describedby="redirect_uris-hint"
        autocapitalize="off"
        spellcheck="false"
      >
${values.redirectUris}</textarea>
      <p class="hint" id="redirect_uris-hint">One per line; needed for authorization_code.</p>
    </div>`;
}

export function generateForm(
  view: View,
  app: Application,
  keyType: KeyType,
  values: GenerateFormValues,
  once: string,
  alert?: Problem,
): Html {
  const back = applicationPath(view, app);
  return layout(
    view,
    `Generate keys · ${app.name}`,
    html`<h1>Generate keys</h1>
      <p>
        A new client for <strong>${app.name}</strong>, bound as its ${keyType} keys. Its secret is shown once, on the
        next page.
      </p>
      ${alertBox(alert)}
      <form class="stack" method="post" action="${back}/keys/${keyType}/generate">
        ${csrfField(view)}
        <input type="hidden" name="once" value="${once}" />
        ${grantFields(values)}
        <div class="actions">
          <button type="submit">Generate</button><a class="button secondary" href="${back}">Cancel</a>
        </div>
      </form>`,
  );
}
