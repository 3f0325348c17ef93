import type { ClientView } from '../../registry.js';
import { KEY_TYPES, type Actor, type Application, type KeyType } from '../../types.js';
import { html } from '../html.js';
import {
  applicationList,
  applicationPage,
  deleteConfirmation,
  newApplicationForm,
  renameForm,
  signInPage,
} from '../pages/applications.js';
import { applicationPath, generateForm, provideForm, type ProvideFormValues, type SecretShown } from '../pages/keys.js';
import { confirmPage, type Problem } from '../pages/layout.js';
import { problemOf, type PortalRequest } from '../request.js';
import { handle, keyTypeParam, type PortalRouter } from './router.js';

const PAGE_SIZE = 50;

function cursorOf(r: PortalRequest): string | undefined {
  const { cursor } = r.ctx.query;
  return typeof cursor === 'string' ? cursor : undefined;
}

/** The bound clients' records, for what the page shows of them (grant types); a missing one is skipped. */
export async function boundClients(r: PortalRequest, app: Application): Promise<Map<string, ClientView>> {
  const clients = new Map<string, ClientView>();
  for (const type of KEY_TYPES) {
    const binding = app.keys[type];
    // a third-party issuer's client has no record here; its client_id may even name a local one
    if (!binding || binding.issuer_id !== undefined) continue;
    try {
      clients.set(binding.client_id, await r.deps.registry.getClient(binding.client_id));
    } catch {
      // deleted since the application was read: the page shows the binding without it
    }
  }
  return clients;
}

async function showApplication(
  r: PortalRequest,
  actor: Actor,
  id: string,
  extra: { status?: number; secret?: SecretShown; alert?: Problem } = {},
): Promise<void> {
  const app = await r.deps.registry.getApplication(actor, id);
  r.show(
    extra.status ?? 200,
    applicationPage(r.view, app, {
      clients: await boundClients(r, app),
      provideKeys: r.deps.options.provideKeysEnabled,
      tokenEndpoint: r.tokenEndpoint,
      once: r.once(),
      ...(extra.secret && { secret: extra.secret }),
      ...(extra.alert && { alert: extra.alert }),
    }),
  );
}

/** A change refused: the application's page again, with the server's description. */
async function failOnApplication(r: PortalRequest, actor: Actor, app: Application, error: unknown): Promise<void> {
  const known = problemOf(error);
  if (!known) return r.fail(error);
  if (known.problem.retryAfter !== undefined) r.ctx.set('Retry-After', String(known.problem.retryAfter));
  await showApplication(r, actor, app.id, { status: known.status, alert: known.problem });
}

/** A secret-producing form sent again (a reload of the page that showed the secret): no second secret. */
const ALREADY_HANDLED: Problem = {
  text:
    'this form was already handled; the secret it produced was shown once and is not shown again ' +
    '(regenerate the secret if it was lost)',
};

/**
 * The provide-keys request the form stands for. The form tells the developer that an unverified issuer
 * needs no secret, so one typed anyway is not sent (the registry would refuse it).
 */
async function provideInput(
  r: PortalRequest,
  values: ProvideFormValues,
  secret: string,
): Promise<Record<string, unknown>> {
  if (!values.issuerId) return { client_id: values.clientId, client_secret: secret };
  const issuer = await r.deps.registry.issuers.get(values.issuerId);
  return {
    issuer_id: issuer.issuer_id,
    client_id: values.clientId,
    ...(issuer.verification !== 'none' && { client_secret: secret }),
  };
}

function unboundNotice(kind: 'provided' | 'generated', clientId: string): string {
  return kind === 'provided'
    ? `Unbound. The client ${clientId} is kept and can be bound again, to this or another application.`
    : `Unbound. The generated client ${clientId} is deleted.`;
}

export function developerRoutes(router: PortalRouter): void {
  router.get(
    '/',
    handle(async (r) => {
      if (!r.account) {
        r.show(200, signInPage(r.view, undefined));
        return;
      }
      await r.takeNotice();
      r.show(200, applicationList(r.view, await r.deps.registry.listApplications(r.owner(), cursorOf(r), PAGE_SIZE)));
    }),
  );

  router.get(
    '/applications/new',
    handle(async (r) => {
      r.owner();
      r.show(200, newApplicationForm(r.view, { name: '', description: '' }));
    }),
  );

  router.post(
    '/applications',
    handle(async (r) => {
      const { form } = await r.change();
      const values = { name: form.text('name'), description: form.text('description') };
      try {
        const app = await r.deps.registry.createApplication(r.owner(), values);
        await r.notify(`Created ${app.name}. Next: provide or generate its keys.`);
        r.redirect(applicationPath(r.view, app));
      } catch (error) {
        r.failForm(error, (problem) => newApplicationForm(r.view, values, problem));
      }
    }),
  );

  router.get(
    '/applications/:id',
    handle(async (r, { id }) => {
      const actor = r.owner();
      await r.takeNotice();
      await showApplication(r, actor, id!);
    }),
  );

  router.get(
    '/applications/:id/edit',
    handle(async (r, { id }) => {
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      r.show(200, renameForm(r.view, app, { name: app.name, description: app.description }));
    }),
  );

  router.post(
    '/applications/:id',
    handle(async (r, { id }) => {
      const { form } = await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      const values = { name: form.text('name'), description: form.text('description') };
      try {
        await r.deps.registry.updateApplication(actor, app.id, values);
        await r.notify('Saved.');
        r.redirect(applicationPath(r.view, app));
      } catch (error) {
        r.failForm(error, (problem) => renameForm(r.view, app, values, problem));
      }
    }),
  );

  router.get(
    '/applications/:id/delete',
    handle(async (r, { id }) => {
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      r.show(200, confirmPage(r.view, deleteConfirmation(r.view, app), applicationPath(r.view, app)));
    }),
  );

  router.post(
    '/applications/:id/delete',
    handle(async (r, { id }) => {
      await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      try {
        await r.deps.registry.deleteApplication(actor, app.id);
      } catch (error) {
        return failOnApplication(r, actor, app, error);
      }
      const bindings = KEY_TYPES.flatMap((type) => (app.keys[type] ? [app.keys[type]] : []));
      const kept = bindings.filter((b) => b.origin === 'provided').map((b) => b.client_id);
      const deleted = bindings.filter((b) => b.origin === 'generated').map((b) => b.client_id);
      await r.notify(
        [
          `Deleted ${app.name}.`,
          kept.length ? `Kept, and free to be bound again: ${kept.join(', ')}.` : '',
          deleted.length ? `Deleted with it: ${deleted.join(', ')}.` : '',
        ]
          .filter(Boolean)
          .join(' '),
      );
      r.redirect(`${r.base}/`);
    }),
  );

  keyRoutes(router);
}

function keyRoutes(router: PortalRouter): void {
  const keyPath = (r: PortalRequest, app: Application, type: KeyType) => `${applicationPath(r.view, app)}/keys/${type}`;

  router.get(
    '/applications/:id/keys/:type/provide',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      if (app.keys[keyType]) return r.redirect(applicationPath(r.view, app));
      const issuers = await r.deps.registry.issuers.list();
      r.show(200, provideForm(r.view, app, keyType, { clientId: '', issuerId: '' }, issuers));
    }),
  );

  router.post(
    '/applications/:id/keys/:type/provide',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const { form } = await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      const values = { clientId: form.text('client_id'), issuerId: form.text('issuer_id') };
      try {
        const input = await provideInput(r, values, form.text('client_secret', { trim: false }));
        await r.deps.registry.provideKeys(actor, app.id, keyType, input);
        const of = values.issuerId ? ` of ${values.issuerId}` : '';
        await r.notify(`The client ${values.clientId}${of} is now the ${keyType} keys of ${app.name}.`);
        r.redirect(applicationPath(r.view, app));
      } catch (error) {
        const issuers = await r.deps.registry.issuers.list();
        r.failForm(error, (problem) => provideForm(r.view, app, keyType, values, issuers, problem));
      }
    }),
  );

  router.get(
    '/applications/:id/keys/:type/generate',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      if (app.keys[keyType]) return r.redirect(applicationPath(r.view, app));
      r.show(200, generateForm(r.view, app, keyType, { grantTypes: 'client_credentials', redirectUris: '' }, r.once()));
    }),
  );

  // the secret is in this response only: not kept for a later page, and the page is never cached
  router.post(
    '/applications/:id/keys/:type/generate',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const { form, session } = await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      if (!(await r.spend(session, form)))
        return showApplication(r, actor, app.id, { status: 409, alert: ALREADY_HANDLED });
      const values = { grantTypes: form.text('grant_types'), redirectUris: form.text('redirect_uris') };
      const redirectUris = form.words('redirect_uris');
      let generated;
      try {
        generated = await r.deps.registry.generateKeys(actor, app.id, keyType, {
          grant_types: form.words('grant_types'),
          ...(redirectUris.length && { redirect_uris: redirectUris }),
        });
      } catch (error) {
        return r.failForm(error, (problem) => generateForm(r.view, app, keyType, values, r.once(), problem));
      }
      await showApplication(r, actor, app.id, {
        secret: { keyType, clientId: generated.client_id, secret: generated.client_secret },
      });
    }),
  );

  router.get(
    '/applications/:id/keys/:type/unbind',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      const binding = app.keys[keyType];
      if (!binding) return r.redirect(applicationPath(r.view, app));
      const path = keyPath(r, app, keyType);
      r.show(
        200,
        confirmPage(
          r.view,
          {
            id: 'confirm-unbind',
            label: 'Unbind',
            title: `Unbind the ${keyType} keys?`,
            danger: true,
            action: `${path}/unbind`,
            page: `${path}/unbind`,
            body:
              binding.origin === 'provided'
                ? html`<p>
                    The client <code>${binding.client_id}</code> was provided: it is <strong>kept</strong>, and can be
                    bound again.
                  </p>`
                : html`<p>
                    The client <code>${binding.client_id}</code> was generated for this application: it is
                    <strong>deleted</strong>.
                  </p>`,
          },
          applicationPath(r.view, app),
        ),
      );
    }),
  );

  router.post(
    '/applications/:id/keys/:type/unbind',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      const binding = app.keys[keyType];
      try {
        await r.deps.registry.unbind(actor, app.id, keyType);
      } catch (error) {
        return failOnApplication(r, actor, app, error);
      }
      if (binding) await r.notify(unboundNotice(binding.origin, binding.client_id));
      r.redirect(applicationPath(r.view, app));
    }),
  );

  router.get(
    '/applications/:id/keys/:type/secret',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const app = await r.deps.registry.getApplication(r.owner(), id!);
      const path = keyPath(r, app, keyType);
      r.show(
        200,
        confirmPage(
          r.view,
          {
            id: 'confirm-secret',
            label: 'Regenerate secret',
            title: `Regenerate the ${keyType} secret?`,
            action: `${path}/secret`,
            page: `${path}/secret`,
            body: html`<p>
              A new secret replaces the current one at once: whatever still uses the current one stops getting tokens.
              The new secret is shown once.
            </p>`,
            fields: html`<input type="hidden" name="once" value="${r.once()}" />`,
          },
          applicationPath(r.view, app),
        ),
      );
    }),
  );

  router.post(
    '/applications/:id/keys/:type/secret',
    handle(async (r, { id, type }) => {
      const keyType = keyTypeParam(type);
      const { form, session } = await r.change();
      const actor = r.owner();
      const app = await r.deps.registry.getApplication(actor, id!);
      if (!(await r.spend(session, form)))
        return showApplication(r, actor, app.id, { status: 409, alert: ALREADY_HANDLED });
      let rotated;
      try {
        rotated = await r.deps.registry.regenerateSecret(actor, app.id, keyType);
      } catch (error) {
        return failOnApplication(r, actor, app, error);
      }
      await showApplication(r, actor, app.id, {
        secret: { keyType, clientId: rotated.client_id, secret: rotated.client_secret },
      });
    }),
  );
}
