// Loading webhooks, and the form both create and edit use.
import { h } from './dom.js';
import { ApiError } from './api.js';
import { field } from './ui.js';

const EVENTS = ['task.completed', 'task.failed'];

// loadWebhook returns a webhook without its secret, and the secret apart
// (null for read-only callers) so that no view renders it by accident.
// Admins read the webhook itself; the API lets other roles only list, so
// for them it is found in the list.
export async function loadWebhook(app, id) {
  if (app.session.canManage) {
    const { webhook_secret: secret, ...webhook } = await app.api('GET', `/api/v1/webhooks/${id}`);
    return { webhook, secret };
  }
  const perPage = 100;
  for (let page = 1; ; page += 1) {
    const data = await app.api('GET', '/api/v1/webhooks', { query: { current_page: page, per_page: perPage } });
    const webhook = data.webhook_list.find((w) => w.id === id);
    if (webhook) return { webhook, secret: null };
    if (page * perPage >= data.page_meta.total_count) throw new ApiError(404, 'webhook not found');
  }
}

export const webhookHref = (id) => `#/webhooks/${id}`;

// webhookForm builds the name / URL / events fields; values() reads them.
export function webhookForm(initial = {}) {
  const name = h('input', { type: 'text', name: 'display_name', required: true, maxlength: '255', value: initial.display_name || '' });
  const url = h('input', {
    type: 'url', name: 'webhook_url', required: true, maxlength: '2048', inputmode: 'url',
    placeholder: 'https://example.com/hooks/hookd', value: initial.webhook_url || '', spellcheck: 'false',
  });
  const chosen = initial.webhook_events || EVENTS;
  const boxes = EVENTS.map((event) => h('input', { type: 'checkbox', name: 'webhook_events', value: event, checked: chosen.includes(event) }));
  const fields = [
    field('Name', name),
    field('Endpoint URL', url, 'An https:// address; hookd POSTs the signed events there.'),
    h('fieldset', { class: 'field' },
      h('legend', {}, 'Events'),
      boxes.map((box) => h('label', { class: 'check' }, box, ' ', h('code', {}, box.value)))),
  ];
  const values = () => ({
    display_name: name.value,
    webhook_url: url.value.trim(),
    webhook_events: boxes.filter((b) => b.checked).map((b) => b.value),
  });
  return { fields, values, first: name };
}
