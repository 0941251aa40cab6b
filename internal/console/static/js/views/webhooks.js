// The webhook list and the create form.
import { h, fill } from '../dom.js';
import { pageTitle, table, fmtTime, statusBadge, pager, notice, describe, secretPanel, busy, field, code } from '../ui.js';
import { webhookForm, webhookHref } from '../webhooks.js';

const PER_PAGE = 20;

export async function webhookListView(app, _params, query) {
  const page = Math.max(1, parseInt(query.get('page'), 10) || 1);
  const status = ['active', 'disabled'].includes(query.get('status')) ? query.get('status') : '';
  const data = await app.api('GET', '/api/v1/webhooks', {
    query: { current_page: page, per_page: PER_PAGE, webhook_status: status },
  });
  const hrefFor = (p, s = status) => {
    const q = new URLSearchParams();
    if (s) q.set('status', s);
    if (p > 1) q.set('page', String(p));
    const qs = q.toString();
    return qs ? `#/webhooks?${qs}` : '#/webhooks';
  };

  const filter = h('select', { name: 'status' },
    [['', 'All webhooks'], ['active', 'Active'], ['disabled', 'Disabled']]
      .map(([value, label]) => h('option', { value, selected: value === status }, label)));
  const filterForm = h('form', {
    class: 'filters', 'aria-label': 'Filter webhooks',
    on: { submit: (e) => { e.preventDefault(); app.go(hrefFor(1, filter.value)); } },
  }, field('Show', filter), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply')));

  const toolbar = h('div', { class: 'toolbar' },
    app.session.canManage ? h('a', { class: 'button primary', href: '#/webhooks/new' }, 'New webhook') : null);

  const list = data.webhook_list;
  let body;
  if (list.length === 0) {
    body = h('div', { class: 'empty' },
      h('p', {}, status ? `No ${status} webhooks.` : 'This team has no webhooks yet.'),
      app.session.canManage
        ? h('p', {}, h('a', { href: '#/webhooks/new' }, 'Create the first webhook'), ' to receive task events.')
        : h('p', {}, 'A team admin can create one.'));
  } else {
    body = [
      table('Webhooks', ['Name', 'Endpoint URL', 'Events', 'Status', 'Last delivery'], list.map((w) => [
        h('a', { href: webhookHref(w.id) }, w.display_name),
        h('span', { class: 'url' }, w.webhook_url),
        w.webhook_events.map((e) => h('code', { class: 'event' }, e)),
        statusBadge(w.webhook_status),
        w.last_delivered_at ? fmtTime(w.last_delivered_at) : 'never',
      ])),
      pager(data.page_meta, ['webhook', 'webhooks'], (p) => hrefFor(p)),
    ];
  }
  return [...pageTitle('Webhooks'), toolbar, filterForm, body];
}

export async function createWebhookView(app) {
  if (!app.session.canManage) {
    return [...pageTitle('New webhook', [['Webhooks', '#/webhooks']]),
      notice('error', 'Your access is read-only: creating webhooks needs an admin.')];
  }
  const form = webhookForm();
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create webhook');
  const view = h('div', {});

  const onSubmit = async (event) => {
    event.preventDefault();
    const values = form.values();
    if (values.webhook_events.length === 0) {
      fill(errors, notice('error', 'Choose at least one event.'));
      return;
    }
    fill(errors);
    await busy(submit, async () => {
      try {
        const created = await app.api('POST', '/api/v1/webhooks', { body: values });
        showSecret(created, values.display_name);
      } catch (err) {
        if (!app.failed(err)) fill(errors, notice('error', describe(err)));
      }
    });
  };

  // After creation the form gives way to the secret, shown this once.
  const showSecret = (created, name) => {
    fill(view,
      ...pageTitle('Webhook created', [['Webhooks', '#/webhooks']]),
      h('p', {}, 'The webhook ', h('strong', {}, name), ' is active.'),
      secretPanel('Signing secret', created.webhook_secret,
        'hookd signs every delivery with this secret (header X-Webhook-Signature-256). ' +
        'It is shown only now: copy it into your receiver\'s configuration before you leave this page.'),
      h('p', {}, h('a', { class: 'button', href: webhookHref(created.id) }, 'Done: open the webhook')));
    view.querySelector('h1').focus();
    app.announce('Webhook created. Its secret is shown once.');
  };

  fill(view,
    ...pageTitle('New webhook', [['Webhooks', '#/webhooks']]),
    h('p', {}, 'hookd will POST a signed JSON body to the endpoint whenever a task of this team finishes. ',
      'The endpoint must answer with a 2xx status within the delivery timeout; failed attempts are retried (',
      code('0s, 5s, 30s, 2m'), ' by default).'),
    h('form', { class: 'form', novalidate: true, 'aria-label': 'New webhook', on: { submit: onSubmit } },
      form.fields, errors, h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: '#/webhooks' }, 'Cancel'))));
  return view;
}
