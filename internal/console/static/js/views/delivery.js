// One delivery: the request hookd sends (body and headers) and every attempt.
import { h, uid } from '../dom.js';
import { pageTitle, details, fmtTime, statusBadge, code, notice, describe, busy, lastAnswer } from '../ui.js';
import { loadWebhook, webhookHref } from '../webhooks.js';
import { sign } from '../signature.js';

export async function deliveryView(app, [webhookId, deliveryId]) {
  const [{ webhook, secret }, d] = await Promise.all([
    loadWebhook(app, webhookId),
    app.api('GET', `/api/v1/webhooks/${webhookId}/deliveries/${deliveryId}`),
  ]);
  const here = `${webhookHref(webhookId)}/deliveries/${deliveryId}`;
  const outcome = h('div', { class: 'outcome' });

  const refresh = h('button', { type: 'button', on: { click: () => app.go(here) } }, 'Refresh');
  const toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Delivery actions' }, refresh);
  if (app.session.canManage && webhook.webhook_status === 'active') {
    const redeliver = h('button', { type: 'button', class: 'primary' }, 'Redeliver');
    redeliver.addEventListener('click', () => busy(redeliver, async () => {
      try {
        const { id } = await app.api('POST', `/api/v1/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`);
        app.go(`${webhookHref(webhookId)}/deliveries/${id}`, {
          kind: 'ok', text: 'Redelivered: this is the new delivery, with the same event and body and a fresh retry schedule.',
        });
      } catch (err) {
        if (!app.failed(err)) outcome.replaceChildren(notice('error', describe(err)));
      }
    }));
    toolbar.prepend(redeliver);
  } else if (app.session.canManage) {
    outcome.append(notice('info', 'The webhook is disabled: enable it to redeliver.'));
  }

  const summary = [
    ['Status', statusBadge(d.delivery_status)],
    ['Event', code(d.event_type)],
    ['Task ID', code(d.task_id)],
    ['Attempts', String(d.attempt_count)],
    ['Last answer', lastAnswer(d)],
    ['Created', fmtTime(d.created_at)],
    ['Completed', d.completed_at ? fmtTime(d.completed_at) : 'not yet'],
  ];
  if (d.next_attempt_at) summary.push(['Next attempt', fmtTime(d.next_attempt_at)]);
  summary.push(['Delivery ID', code(d.id)]);

  return [
    ...pageTitle(`Delivery of ${d.event_type}`, [['Webhooks', '#/webhooks'], [webhook.display_name, webhookHref(webhookId)]]),
    toolbar,
    outcome,
    details(summary),
    await requestSection(app, webhook, secret, d),
    attemptsSection(d),
  ];
}

// requestSection shows the request exactly as sent: the stored body and the
// SPEC §5 headers. The signature needs the secret: it is computed here for
// admins (who may read the secret) and withheld from everyone else.
async function requestSection(app, webhook, secret, d) {
  const titleId = uid('request');
  let signature;
  if (secret === null) {
    signature = h('span', { class: 'muted' }, 'not shown: computing it needs the webhook secret, which read-only access does not include');
  } else {
    const value = await sign(secret, d.request_body);
    signature = value === null
      ? h('span', { class: 'muted' }, 'not shown: this browser computes signatures only on https:// pages')
      : [h('code', { class: 'wrap' }, value),
        h('span', { class: 'hint' }, 'Computed in this browser with the current secret: it matches what hookd sent unless the secret was rotated after the attempt.')];
  }
  const headers = [
    ['Content-Type', code('application/json')],
    ['User-Agent', app.userAgent ? code(app.userAgent) : h('span', { class: 'muted' }, 'hookd/<version>')],
    ['X-Webhook-Signature-256', signature],
    ['X-Webhook-Event', code(d.event_type)],
    ['X-Webhook-Delivery', code(d.id)],
    ['X-Webhook-Event-ID', d.event_id
      ? code(d.event_id)
      : h('span', { class: 'muted' }, 'the event\'s id, the same on every delivery of this event (the delivery API does not include it)')],
  ];
  const bytes = new TextEncoder().encode(d.request_body).length;
  return h('section', { class: 'panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Request'),
    h('p', {}, h('code', {}, 'POST'), ' ', h('span', { class: 'url' }, webhook.webhook_url),
      h('span', { class: 'hint' }, ' (the webhook\'s current URL)')),
    h('h3', {}, 'Headers'),
    h('table', { class: 'headers' },
      h('caption', { class: 'visually-hidden' }, 'Request headers'),
      h('tbody', {}, headers.map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, code(name)), h('td', {}, value))))),
    h('p', { class: 'hint' }, 'The HTTP client adds the connection headers (Host, Content-Length and the like).'),
    h('h3', {}, `Body (${bytes} bytes, identical on every attempt)`),
    h('pre', { class: 'body', tabindex: '0', 'aria-label': 'Request body' }, d.request_body));
}

function attemptsSection(d) {
  const titleId = uid('attempts');
  const body = d.attempts.length === 0
    ? h('p', { class: 'empty' }, d.delivery_status === 'pending' ? 'No attempt yet: the first one is due now.' : 'No attempt was made.')
    : h('ol', { class: 'attempts' }, d.attempts.map((a) => {
      const ok = a.status_code !== null && a.status_code >= 200 && a.status_code < 300 && !a.error;
      const headline = a.status_code !== null ? `HTTP ${a.status_code}` : (a.error || 'no answer');
      return h('li', { class: `attempt ${ok ? 'ok' : 'failed'}` },
        h('h3', {}, `Attempt ${a.attempt_number}: `, h('span', { class: `badge badge-${ok ? 'succeeded' : 'failed'}` }, ok ? 'succeeded' : 'failed'), ` ${headline}`),
        details([
          ['Started', fmtTime(a.started_at)],
          ['Duration', `${a.duration_ms} ms`],
          ['Status code', a.status_code !== null ? String(a.status_code) : 'none'],
          ['Error', a.error || 'none'],
        ]),
        h('p', { class: 'label' }, 'Response body', a.response_body === '' ? ': empty' : ''),
        a.response_body === '' ? null : h('pre', { class: 'body', tabindex: '0', 'aria-label': `Response body of attempt ${a.attempt_number}` }, a.response_body));
    }));
  return h('section', { class: 'panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, `Attempts (${d.attempts.length})`), body);
}
