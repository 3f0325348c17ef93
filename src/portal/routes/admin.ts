import type { FormFields } from '../form.js';
import {
  adminApplicationPage,
  adminApplications,
  blockConfirmation,
  clientForm,
  clientsPage,
  deleteClientConfirmation,
  type ClientFormValues,
} from '../pages/admin.js';
import { applicationPath } from '../pages/keys.js';
import { confirmPage } from '../pages/layout.js';
import type { PortalRequest } from '../request.js';
import { boundClients } from './developer.js';
import { handle, type PortalRouter } from './router.js';

const PAGE_SIZE = 50;

function cursorOf(r: PortalRequest): string | undefined {
  const { cursor } = r.ctx.query;
  return typeof cursor === 'string' ? cursor : undefined;
}

function formValues(form: FormFields, clientId: string): ClientFormValues {
  return { clientId, grantTypes: form.text('grant_types'), redirectUris: form.text('redirect_uris') };
}

/** Client metadata from the form: what the Management Console step asks, the rest the provider's defaults. */
function metadataOf(form: FormFields): Record<string, unknown> {
  const grants = form.words('grant_types');
  const redirecting = grants.includes('authorization_code') || grants.includes('implicit');
  return {
    client_secret: form.text('client_secret', { trim: false }),
    grant_types: grants,
    redirect_uris: form.words('redirect_uris'),
    ...(!redirecting && { response_types: [] }),
  };
}

const OUTCOMES = { created: 'Registered', replaced: 'Replaced', unchanged: 'Saved (nothing changed):' } as const;

export function adminRoutes(router: PortalRouter): void {
  router.get(
    '/admin',
    handle(async (r) => {
      r.admin();
      await r.takeNotice();
      r.show(200, clientsPage(r.view, await r.deps.registry.listClients(cursorOf(r), PAGE_SIZE)));
    }),
  );

  router.get(
    '/admin/clients/new',
    handle(async (r) => {
      r.admin();
      r.show(200, clientForm(r.view, 'register', { clientId: '', grantTypes: 'client_credentials', redirectUris: '' }));
    }),
  );

  router.post(
    '/admin/clients',
    handle(async (r) => {
      const { form } = await r.change();
      const actor = r.admin();
      const clientId = form.text('client_id');
      const values = formValues(form, clientId);
      try {
        // registering never replaces by accident: a taken id is answered, and Replace is the way
        if (
          clientId &&
          (await r.deps.registry.getClient(clientId).then(
            () => true,
            () => false,
          ))
        ) {
          return r.show(
            409,
            clientForm(r.view, 'register', values, {
              text: `a client with the ID ${clientId} is already registered; use its Replace button to change it`,
            }),
          );
        }
        const { outcome } = await r.deps.registry.registerClient(actor, clientId, metadataOf(form));
        await r.notify(`${OUTCOMES[outcome]} ${clientId}.`);
        r.redirect(`${r.base}/admin`);
      } catch (error) {
        r.failForm(error, (problem) => clientForm(r.view, 'register', values, problem));
      }
    }),
  );

  router.get(
    '/admin/clients/:cid/edit',
    handle(async (r, { cid }) => {
      r.admin();
      const client = await r.deps.registry.getClient(cid!);
      const words = (value: unknown) => (Array.isArray(value) ? value.join(' ') : '');
      r.show(
        200,
        clientForm(r.view, 'replace', {
          clientId: client.client_id,
          grantTypes: words(client.grant_types),
          redirectUris: words(client.redirect_uris),
        }),
      );
    }),
  );

  router.post(
    '/admin/clients/:cid',
    handle(async (r, { cid }) => {
      const { form } = await r.change();
      const actor = r.admin();
      const client = await r.deps.registry.getClient(cid!);
      const values = formValues(form, client.client_id);
      try {
        const { outcome } = await r.deps.registry.registerClient(actor, client.client_id, metadataOf(form));
        await r.notify(`${OUTCOMES[outcome]} ${client.client_id}.`);
        r.redirect(`${r.base}/admin`);
      } catch (error) {
        r.failForm(error, (problem) => clientForm(r.view, 'replace', values, problem));
      }
    }),
  );

  router.get(
    '/admin/clients/:cid/delete',
    handle(async (r, { cid }) => {
      r.admin();
      const client = await r.deps.registry.getClient(cid!);
      r.show(200, confirmPage(r.view, deleteClientConfirmation(r.view, client, 0), `${r.base}/admin`));
    }),
  );

  router.post(
    '/admin/clients/:cid/delete',
    handle(async (r, { cid }) => {
      await r.change();
      const actor = r.admin();
      // the confirmation said that a bound client's binding goes with it
      await r.deps.registry.deleteClient(actor, cid!, true);
      await r.notify(`Deleted the client ${cid}.`);
      r.redirect(`${r.base}/admin`);
    }),
  );

  router.post(
    '/admin/clients/:cid/attempts',
    handle(async (r, { cid }) => {
      await r.change();
      const cleared = await r.deps.registry.clearFailedAttempts(r.admin(), cid!);
      await r.notify(
        cleared
          ? `Cleared the failed attempts of ${cid}: Provide keys works for it again.`
          : `${cid} had no failed attempts.`,
      );
      r.redirect(`${r.base}/admin`);
    }),
  );

  router.get(
    '/admin/applications',
    handle(async (r) => {
      const actor = r.admin();
      await r.takeNotice();
      r.show(200, adminApplications(r.view, await r.deps.registry.listApplications(actor, cursorOf(r), PAGE_SIZE)));
    }),
  );

  router.get(
    '/admin/applications/:id',
    handle(async (r, { id }) => {
      const actor = r.admin();
      await r.takeNotice();
      const app = await r.deps.registry.getApplication(actor, id!);
      r.show(200, adminApplicationPage(r.view, app, await boundClients(r, app), r.tokenEndpoint));
    }),
  );

  router.get(
    '/admin/applications/:id/status',
    handle(async (r, { id }) => {
      const app = await r.deps.registry.getApplication(r.admin(), id!);
      r.show(200, confirmPage(r.view, blockConfirmation(r.view, app), applicationPath(r.view, app, 'admin')));
    }),
  );

  router.post(
    '/admin/applications/:id/status',
    handle(async (r, { id }) => {
      const { form } = await r.change();
      const actor = r.admin();
      const status = form.text('status');
      const app = await r.deps.registry.updateApplication(actor, id!, { status });
      await r.notify(`${status === 'BLOCKED' ? 'Blocked' : 'Unblocked'} ${app.name}.`);
      r.redirect(applicationPath(r.view, app, 'admin'));
    }),
  );
}
