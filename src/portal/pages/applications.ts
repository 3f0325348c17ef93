import type { ClientView } from '../../registry.js';
import { KEY_TYPES, type Application, type Page } from '../../types.js';
import { DESCRIPTION_MAX, NAME_MAX } from '../../validate.js';
import { html, type Html } from '../html.js';
import { boundClient, keyRegion, applicationPath, type SecretShown } from './keys.js';
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

export function signInPage(view: View, returnTo: string | undefined, alert?: Problem): Html {
  const href = returnTo ? `${view.base}/signin?return_to=${encodeURIComponent(returnTo)}` : `${view.base}/signin`;
  return layout(
    view,
    'Sign in',
    html`<h1>API keys</h1>
      ${alertBox(alert)}
      <p>
        Create applications and bind OAuth clients to them as their keys: provide the keys of a client created
        elsewhere, or generate new ones.
      </p>
      <p><a class="button" href="${href}">Sign in</a></p>
      <p class="hint">You sign in with your account at this server.</p>`,
  );
}

function statusTag(app: Application): Html {
  return app.status === 'BLOCKED' ? html` <span class="tag blocked">blocked</span>` : html``;
}

function keysSummary(app: Application): string {
  const bound = KEY_TYPES.filter((type) => app.keys[type]);
  return bound.length ? `keys: ${bound.join(', ')}` : 'no keys yet';
}

function pager(path: string, page: Page<unknown>): Html {
  return page.next_cursor
    ? html`<p class="pager"><a href="${path}?cursor=${encodeURIComponent(page.next_cursor)}">Next page</a></p>`
    : html``;
}

export function applicationList(view: View, page: Page<Application>, alert?: Problem): Html {
  const items = page.items.map(
    (app) =>
      html`<li>
        <a class="name" href="${applicationPath(view, app)}">${app.name}</a>${statusTag(app)}
        <span class="hint"> · ${keysSummary(app)}</span
        >${app.description ? html`<br /><span class="hint">${app.description}</span>` : ''}
      </li>`,
  );
  return layout(
    view,
    'My applications',
    html`<h1>My applications</h1>
      ${alertBox(alert)}
      <div class="actions">${buttonTo(`${view.base}/applications/new`, 'Create application')}</div>
      ${
        items.length
          ? html`<ul class="items">
              ${items}
            </ul>`
          : html`<p>No applications yet. Create one, then provide or generate its keys.</p>`
      }
      ${pager(`${view.base}/`, page)}`,
  );
}

export interface ApplicationFormValues {
  readonly name: string;
  readonly description: string;
}

function applicationFields(values: ApplicationFormValues): Html {
  return html`<div>
      <label for="name">Name</label>
      <input type="text" id="name" name="name" value="${values.name}" required maxlength="${NAME_MAX}" />
    </div>
    <div>
      <label for="description">Description</label>
      <textarea id="description" name="description" maxlength="${DESCRIPTION_MAX}" aria-describedby="description-hint">
${values.description}</textarea>
      <p class="hint" id="description-hint">Optional.</p>
    </div>`;
}

export function newApplicationForm(view: View, values: ApplicationFormValues, alert?: Problem): Html {
  return layout(
    view,
    'Create application',
    html`<h1>Create application</h1>
      ${alertBox(alert)}
      <form class="stack" method="post" action="${view.base}/applications">
        ${csrfField(view)} ${applicationFields(values)}
        <div class="actions">
          <button type="submit">Create</button><a class="button secondary" href="${view.base}/">Cancel</a>
        </div>
      </form>`,
  );
}

export function renameForm(view: View, app: Application, values: ApplicationFormValues, alert?: Problem): Html {
  const path = applicationPath(view, app);
  return layout(
    view,
    `Rename ${app.name}`,
    html`<h1>Rename ${app.name}</h1>
      ${alertBox(alert)}
      <form class="stack" method="post" action="${path}">
        ${csrfField(view)} ${applicationFields(values)}
        <div class="actions">
          <button type="submit">Save</button><a class="button secondary" href="${path}">Cancel</a>
        </div>
      </form>`,
  );
}

export function deleteConfirmation(view: View, app: Application): Confirmation {
  const path = applicationPath(view, app);
  const bindings = KEY_TYPES.flatMap((type) => (app.keys[type] ? [app.keys[type]] : []));
  const provided = bindings.filter((b) => b.origin === 'provided').map((b) => b.client_id);
  const generated = bindings.filter((b) => b.origin === 'generated').map((b) => b.client_id);
  const ids = (list: readonly string[]) => list.map((id, i) => html`${i ? ', ' : ''}<code>${id}</code>`);
  const kept = provided.length
    ? html`<p>Provided clients are <strong>kept</strong> and can be bound to another application: ${ids(provided)}.</p>`
    : '';
  const deleted = generated.length
    ? html`<p>Generated clients are <strong>deleted</strong>: ${ids(generated)}.</p>`
    : '';
  const body = html`<p>The application <strong>${app.name}</strong> is deleted.</p>
    ${kept} ${deleted}`;
  return {
    id: 'confirm-delete',
    label: 'Delete application',
    title: `Delete ${app.name}?`,
    body,
    action: `${path}/delete`,
    page: `${path}/delete`,
    danger: true,
  };
}

export interface ApplicationPageSettings {
  readonly clients: ReadonlyMap<string, ClientView>;
  readonly provideKeys: boolean;
  readonly tokenEndpoint: string;
  readonly secret?: SecretShown;
  readonly once: string;
  readonly alert?: Problem;
}

/** An owner's application: its details, what the owner may do, and one region per key type. */
export function applicationPage(view: View, app: Application, settings: ApplicationPageSettings): Html {
  const path = applicationPath(view, app);
  const active = app.status === 'ACTIVE';
  return layout(
    view,
    app.name,
    html`<h1>${app.name}</h1>
      ${alertBox(settings.alert)}
      ${
        active
          ? ''
          : html`<div role="status" class="notice">
              <p>
                An administrator has blocked this application: its clients get no tokens, and only an administrator can
                change it.
              </p>
            </div>`
      }
      ${app.description ? html`<p>${app.description}</p>` : ''}
      <dl>
        <dt>Status</dt>
        <dd>${app.status}</dd>
        <dt>Created</dt>
        <dd>${time(app.created_at)}</dd>
      </dl>
      ${
        active
          ? html`<div class="actions">
              ${buttonTo(`${path}/edit`, 'Rename', { secondary: true })}${confirmButton(
                view,
                deleteConfirmation(view, app),
              )}
            </div>`
          : ''
      }
      ${KEY_TYPES.map((type) =>
        keyRegion(view, app, type, {
          mode: 'owner',
          client: boundClient(app.keys[type], settings.clients),
          provideKeys: settings.provideKeys,
          tokenEndpoint: settings.tokenEndpoint,
          secret: settings.secret,
          once: settings.once,
        }),
      )}`,
  );
}
