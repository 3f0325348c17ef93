import type { ClientView } from '../../registry.js';
import { KEY_TYPES, type Application, type Page } from '../../types.js';
import { html, type Html } from '../html.js';
import { SECRET_MAX } from '../../validate.js';
import { applicationPath, boundClient, clientIdField, grantFields, keyRegion } from './keys.js';
import {
  alertBox,
  buttonTo,
  confirmButton,
  csrfField,
  layout,
  time,
  type Confirmation,
  type Problem,
  type View,
} from './layout.js';

export function clientPath(view: View, clientId: string): string {
  return `${view.base}/admin/clients/${encodeURIComponent(clientId)}`;
}

export function consoleNav(view: View, current: 'clients' | 'issuers' | 'applications'): Html {
  return html`<nav aria-label="Admin console" class="actions">
    <a href="${view.base}/admin" ${current === 'clients' ? html` aria-current="page"` : ''}>Clients</a>
    <a href="${view.base}/admin/issuers" ${current === 'issuers' ? html` aria-current="page"` : ''}>Issuers</a>
    <a href="${view.base}/admin/applications" ${current === 'applications' ? html` aria-current="page"` : ''}
      >All applications</a
    >
  </nav>`;
}

function pager(path: string, page: Page<unknown>): Html {
  return page.next_cursor
    ? html`<p class="pager"><a href="${path}?cursor=${encodeURIComponent(page.next_cursor)}">Next page</a></p>`
    : html``;
}

function list(values: unknown): string[] {
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
}

export function deleteClientConfirmation(view: View, client: ClientView, index: number): Confirmation {
  const path = clientPath(view, client.client_id);
  const body = client.binding
    ? html`<p>
        It is bound to an application as its ${client.binding.key_type} keys: deleting it removes that binding too, and
        its tokens stop working.
      </p>`
    : html`<p>Its tokens stop working; it can be registered again later.</p>`;
  return {
    id: `confirm-delete-client-${index}`,
    label: 'Delete',
    title: `Delete the client ${client.client_id}?`,
    body,
    action: `${path}/delete`,
    page: `${path}/delete`,
    danger: true,
  };
}

function clientItem(view: View, client: ClientView, index: number): Html {
  const path = clientPath(view, client.client_id);
  const binding = client.binding;
  return html`<li>
    <h2><code>${client.client_id}</code></h2>
    <dl>
      <dt>Grant types</dt>
      <dd>${list(client.grant_types).join(', ') || 'none'}</dd>
      ${
        list(client.redirect_uris).length
          ? html`<dt>Redirect URIs</dt>
              <dd>${list(client.redirect_uris).join(' ')}</dd>`
          : ''
      }
      <dt>Binding</dt>
      <dd>
        ${
          binding
            ? html`<a href="${applicationPath(view, { id: binding.application_id }, 'admin')}"
                  >${binding.application_id}</a
                >, ${binding.key_type}, ${binding.origin}, bound ${time(binding.bound_at)}`
            : 'not bound'
        }
      </dd>
      <dt>Registered</dt>
      <dd>${time(client.registered_at)}</dd>
    </dl>
    <div class="actions">
      ${buttonTo(`${path}/edit`, 'Replace', { secondary: true })}
      <form method="post" action="${path}/attempts">
        ${csrfField(view)}<button type="submit" class="secondary">Clear failed attempts</button>
      </form>
      ${confirmButton(view, deleteClientConfirmation(view, client, index))}
    </div>
  </li>`;
}

export function clientsPage(view: View, page: Page<ClientView>, alert?: Problem): Html {
  return layout(
    view,
    'Clients',
    html`${consoleNav(view, 'clients')}
      <h1>Clients</h1>
      ${alertBox(alert)}
      <p>
        Clients created elsewhere (another identity server, a console), registered here with their own ID and secret, so
        that developers can provide them as keys.
      </p>
      <div class="actions">${buttonTo(`${view.base}/admin/clients/new`, 'Register client')}</div>
      ${
        page.items.length
          ? html`<ul class="items">
              ${page.items.map((client, i) => clientItem(view, client, i))}
            </ul>`
          : html`<p>No clients registered yet.</p>`
      }
      ${pager(`${view.base}/admin`, page)}`,
  );
}

export interface ClientFormValues {
  readonly clientId: string;
  readonly grantTypes: string;
  readonly redirectUris: string;
}

/** Register (a new client id) or replace (a registered one: its id is fixed, its binding kept). */
export function clientForm(view: View, mode: 'register' | 'replace', values: ClientFormValues, alert?: Problem): Html {
  const replacing = mode === 'replace';
  const title = replacing ? `Replace ${values.clientId}` : 'Register client';
  const action = replacing ? clientPath(view, values.clientId) : `${view.base}/admin/clients`;
  return layout(
    view,
    title,
    html`${consoleNav(view, 'clients')}
      <h1>${title}</h1>
      ${alertBox(alert)}
      <p>
        ${
          replacing
            ? 'The client keeps its ID and its binding; its metadata and secret are replaced by what you save.'
            : 'The client keeps the ID and secret it was created with elsewhere.'
        }
      </p>
      <form class="stack" method="post" action="${action}">
        ${csrfField(view)} ${clientIdField(values.clientId, { readonly: replacing })}
        <div>
          <label for="client_secret">Client secret</label>
          <input
            type="password"
            id="client_secret"
            name="client_secret"
            required
            maxlength="${SECRET_MAX}"
            autocomplete="off"
            ${replacing ? html` aria-describedby="client_secret-hint"` : ''}
          />
          ${replacing ? html`<p class="hint" id="client_secret-hint">The current secret, or a new one.</p>` : ''}
        </div>
        ${grantFields(values)}
        <div class="actions">
          <button type="submit">Save</button><a class="button secondary" href="${view.base}/admin">Cancel</a>
        </div>
      </form>`,
  );
}

export function adminApplications(view: View, page: Page<Application>): Html {
  const items = page.items.map(
    (app) =>
      html`<li>
        <a class="name" href="${applicationPath(view, app, 'admin')}">${app.name}</a>
        <span class="tag${app.status === 'BLOCKED' ? ' blocked' : ''}">${app.status}</span>
        <span class="hint">
          · owner ${app.owner ?? 'none'} · ${KEY_TYPES.filter((t) => app.keys[t]).join(', ') || 'no keys'}</span
        >
      </li>`,
  );
  return layout(
    view,
    'All applications',
    html`${consoleNav(view, 'applications')}
      <h1>All applications</h1>
      ${
        items.length
          ? html`<ul class="items">
              ${items}
            </ul>`
          : html`<p>No applications yet.</p>`
      }
      ${pager(`${view.base}/admin/applications`, page)}`,
  );
}

export function blockConfirmation(view: View, app: Application): Confirmation {
  const path = `${applicationPath(view, app, 'admin')}/status`;
  return {
    id: 'confirm-block',
    label: 'Block',
    title: `Block ${app.name}?`,
    danger: true,
    body: html`<p>
      Its clients get no tokens, the tokens they hold stop being active, and its owner can no longer change it, until
      you unblock it.
    </p>`,
    action: path,
    page: path,
    fields: html`<input type="hidden" name="status" value="BLOCKED" />`,
  };
}

/** Any application, as an admin sees it: owner, status, keys, and Block or Unblock. */
export function adminApplicationPage(
  view: View,
  app: Application,
  clients: ReadonlyMap<string, ClientView>,
  tokenEndpoint: string,
  alert?: Problem,
): Html {
  const path = applicationPath(view, app, 'admin');
  const statusAction =
    app.status === 'ACTIVE'
      ? confirmButton(view, blockConfirmation(view, app))
      : html`<form method="post" action="${path}/status">
          ${csrfField(view)}<input type="hidden" name="status" value="ACTIVE" /><button type="submit">Unblock</button>
        </form>`;
  return layout(
    view,
    app.name,
    html`${consoleNav(view, 'applications')}
      <h1>${app.name}</h1>
      ${alertBox(alert)} ${app.description ? html`<p>${app.description}</p>` : ''}
      <dl>
        <dt>Owner</dt>
        <dd>${app.owner ?? 'none'}</dd>
        <dt>Status</dt>
        <dd>${app.status}</dd>
        <dt>Created</dt>
        <dd>${time(app.created_at)}</dd>
      </dl>
      <div class="actions">${statusAction}</div>
      ${KEY_TYPES.map((type) =>
        keyRegion(view, app, type, {
          mode: 'admin',
          client: boundClient(app.keys[type], clients),
          provideKeys: false,
          tokenEndpoint,
          secret: undefined,
          once: '',
        }),
      )}`,
  );
}
