import type { FormFields } from '../form.js';
import { confirmPage } from '../pages/layout.js';
import {
  deleteIssuerConfirmation,
  EMPTY_ISSUER_FORM,
  issuersPage,
  issuersPath,
  type IssuerFormValues,
} from '../pages/issuers.js';
import type { PortalRequest } from '../request.js';
import { handle, type PortalRouter } from './router.js';

const OUTCOMES = { created: 'Registered', replaced: 'Replaced', unchanged: 'Saved (nothing changed):' } as const;

function valuesOf(form: FormFields): IssuerFormValues {
  return { issuerId: form.text('issuer_id'), issuer: form.text('issuer'), verification: form.text('verification') };
}

/** A change refused: the Issuers page again, with the server's description and the form as it was sent. */
async function failOnIssuers(r: PortalRequest, error: unknown, values: IssuerFormValues): Promise<void> {
  const issuers = await r.deps.registry.issuers.list();
  r.failForm(error, (problem) => issuersPage(r.view, issuers, values, problem));
}

/** The admin console's third-party issuers: list, register (discovery is the registry's), delete. */
export function issuerRoutes(router: PortalRouter): void {
  router.get(
    '/admin/issuers',
    handle(async (r) => {
      r.admin();
      await r.takeNotice();
      r.show(200, issuersPage(r.view, await r.deps.registry.issuers.list(), EMPTY_ISSUER_FORM));
    }),
  );

  router.post(
    '/admin/issuers',
    handle(async (r) => {
      const { form } = await r.change();
      const actor = r.admin();
      const values = valuesOf(form);
      try {
        const { outcome, issuer } = await r.deps.registry.issuers.register(actor, values.issuerId, {
          issuer: values.issuer,
          // an empty choice is the registry's default, as when the field is left out of a request
          ...(values.verification && { verification: values.verification }),
        });
        await r.notify(`${OUTCOMES[outcome]} the issuer ${issuer.issuer_id} (${issuer.issuer}).`);
        r.redirect(issuersPath(r.view));
      } catch (error) {
        await failOnIssuers(r, error, values);
      }
    }),
  );

  router.get(
    '/admin/issuers/:iid/delete',
    handle(async (r, { iid }) => {
      r.admin();
      const issuer = await r.deps.registry.issuers.get(iid!);
      r.show(200, confirmPage(r.view, deleteIssuerConfirmation(r.view, issuer, 0), issuersPath(r.view)));
    }),
  );

  router.post(
    '/admin/issuers/:iid/delete',
    handle(async (r, { iid }) => {
      await r.change();
      const actor = r.admin();
      try {
        await r.deps.registry.issuers.delete(actor, iid!);
      } catch (error) {
        return failOnIssuers(r, error, EMPTY_ISSUER_FORM);
      }
      await r.notify(`Deleted the issuer ${iid}.`);
      r.redirect(issuersPath(r.view));
    }),
  );
}
