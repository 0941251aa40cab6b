// Editing a webhook's name, URL and events (admins only).
import { h, fill } from '../dom.js';
import { pageTitle, notice, describe, busy } from '../ui.js';
import { loadWebhook, webhookForm, webhookHref } from '../webhooks.js';

export async function editWebhookView(app, [id]) {
  if (!app.session.canManage) {
    return [...pageTitle('Edit webhook', [['Webhooks', '#/webhooks']]),
      notice('error', 'Your access is read-only: editing webhooks needs an admin.')];
  }
  const { webhook } = await loadWebhook(app, id);
  const form = webhookForm(webhook);
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save changes');

  const onSubmit = async (event) => {
    event.preventDefault();
    const values = form.values();
    if (values.webhook_events.length === 0) {
      fill(errors, notice('error', 'Choose at least one event.'));
      return;
    }
    // Only what changed is sent: the API changes only the fields given.
    const patch = {};
    if (values.display_name !== webhook.display_name) patch.display_name = values.display_name;
    if (values.webhook_url !== webhook.webhook_url) patch.webhook_url = values.webhook_url;
    if (values.webhook_events.join() !== [...webhook.webhook_events].sort().join()) patch.webhook_events = values.webhook_events;
    fill(errors);
    await busy(submit, async () => {
      try {
        await app.api('PUT', `/api/v1/webhooks/${id}`, { body: patch });
        app.go(webhookHref(id), { kind: 'ok', text: Object.keys(patch).length ? 'Changes saved.' : 'Nothing changed.' });
      } catch (err) {
        if (!app.failed(err)) fill(errors, notice('error', describe(err)));
      }
    });
  };

  return [
    ...pageTitle(`Edit “${webhook.display_name}”`, [['Webhooks', '#/webhooks'], [webhook.display_name, webhookHref(id)]]),
    h('form', { class: 'form', novalidate: true, 'aria-label': 'Edit webhook', on: { submit: onSubmit } },
      form.fields, errors,
      h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: webhookHref(id) }, 'Cancel'))),
  ];
}
