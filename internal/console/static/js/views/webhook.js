// One webhook: what it is, what an admin can do with it, and its delivery log.
import { h, fill, uid } from '../dom.js';
import { isUUID, UUID_PATTERN } from '../api.js';
import {
  pageTitle, details, fmtTime, statusBadge, code, notice, describe, confirmAction,
  secretPanel, busy, field, table, pager, lastAnswer,
} from '../ui.js';
import { loadWebhook, webhookHref } from '../webhooks.js';

const STATUSES = ['pending', 'succeeded', 'failed', 'canceled'];
const PER_PAGE = 20;

export async function webhookView(app, [id], query) {
  const { webhook } = await loadWebhook(app, id);
  const outcome = h('div', { class: 'outcome' }); // results of the actions
  const summary = h('div', {}, summaryDetails(webhook));
  // When the log reloads, so does the summary (its last delivery time).
  const refreshSummary = async () => {
    try {
      fill(summary, summaryDetails((await loadWebhook(app, id)).webhook));
    } catch {
      // the log shows the error of the same request
    }
  };
  const parts = [...pageTitle(webhook.display_name, [['Webhooks', '#/webhooks']]), summary];
  if (app.session.canManage) {
    parts.push(actions(app, webhook, outcome), outcome, recoverForm(app, webhook));
  }
  parts.push(deliveryLog(app, webhook, query, refreshSummary));
  return parts;
}

function summaryDetails(webhook) {
  return details([
    ['Status', statusBadge(webhook.webhook_status)],
    ['Endpoint URL', h('span', { class: 'url' }, webhook.webhook_url)],
    ['Events', webhook.webhook_events.map((e) => h('code', { class: 'event' }, e))],
    ['Created', fmtTime(webhook.created_at)],
    ['Last successful delivery', webhook.last_delivered_at ? fmtTime(webhook.last_delivered_at) : 'never'],
    ['Webhook ID', code(webhook.id)],
  ]);
}

// actions are the admin's buttons; each reports into outcome.
function actions(app, webhook, outcome) {
  const show = (...nodes) => fill(outcome, ...nodes);
  const report = (err) => { if (!app.failed(err)) show(notice('error', describe(err))); };
  const active = webhook.webhook_status === 'active';
  const base = `/api/v1/webhooks/${webhook.id}`;

  const toggle = h('button', { type: 'button' }, active ? 'Disable' : 'Enable');
  toggle.addEventListener('click', () => busy(toggle, async () => {
    try {
      await app.api('PUT', base, { body: { webhook_status: active ? 'disabled' : 'active' } });
      app.go(webhookHref(webhook.id), {
        kind: 'ok',
        text: active ? 'Webhook disabled: no new deliveries, and its pending ones were canceled.' : 'Webhook enabled. Deliveries missed while it was disabled are not replayed; use recover or redeliver.',
      });
    } catch (err) { report(err); }
  }));

  const test = h('button', { type: 'button' }, 'Send test event');
  test.addEventListener('click', () => busy(test, async () => {
    try {
      const { id } = await app.api('POST', `${base}/test`);
      show(notice('ok', 'Test event queued. ', h('a', { href: `#/webhooks/${webhook.id}/deliveries/${id}` }, 'Open its delivery')));
      app.announce('Test event queued.');
      document.dispatchEvent(new Event('hookd:deliveries-changed'));
    } catch (err) { report(err); }
  }));

  const rotate = h('button', { type: 'button' }, 'Rotate secret');
  rotate.addEventListener('click', async () => {
    const ok = await confirmAction({
      title: 'Rotate the signing secret?',
      message: 'hookd makes a new secret and signs everything with it at once, retries of pending deliveries included. ' +
        'Until your receiver has the new secret, it will reject what hookd sends.',
      confirmLabel: 'Rotate secret',
    });
    if (!ok) return;
    await busy(rotate, async () => {
      try {
        const { webhook_secret: secret } = await app.api('POST', `${base}/rotate-secret`);
        show(secretPanel('New signing secret', secret,
          'The old secret no longer signs anything. This one is shown only now: copy it into your receiver\'s configuration.'));
        outcome.querySelector('h2').setAttribute('tabindex', '-1');
        outcome.querySelector('h2').focus();
      } catch (err) { report(err); }
    });
  });

  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', async () => {
    const ok = await confirmAction({
      title: `Delete “${webhook.display_name}”?`,
      message: 'The webhook stops receiving events, its pending deliveries are canceled, and its delivery log is no longer shown. This cannot be undone.',
      confirmLabel: 'Delete webhook',
    });
    if (!ok) return;
    await busy(remove, async () => {
      try {
        await app.api('DELETE', base);
        app.go('#/webhooks', { kind: 'ok', text: `Webhook “${webhook.display_name}” deleted.` });
      } catch (err) { report(err); }
    });
  });

  return h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Webhook actions' },
    h('a', { class: 'button', href: `${webhookHref(webhook.id)}/edit` }, 'Edit'),
    toggle,
    active ? test : null,
    rotate,
    remove);
}

// localToRFC3339 reads a datetime-local value (the browser's time zone) as
// an RFC 3339 UTC timestamp with whole seconds.
function localToRFC3339(value) {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return null;
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// recoverForm redelivers, once each, the deliveries that failed in a window.
function recoverForm(app, webhook) {
  const titleId = uid('recover');
  const since = h('input', { type: 'datetime-local', name: 'since', required: true, step: '1', value: toLocalInput(new Date(Date.now() - 24 * 3600e3)) });
  const until = h('input', { type: 'datetime-local', name: 'until', step: '1' });
  const result = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit' }, 'Recover failed deliveries');
  const onSubmit = (event) => {
    event.preventDefault();
    const body = { since: localToRFC3339(since.value) };
    if (!body.since) return fill(result, notice('error', 'Enter the time to recover from.'));
    if (until.value) {
      body.until = localToRFC3339(until.value);
      if (!body.until) return fill(result, notice('error', 'The end of the window is not a valid time.'));
    }
    return busy(submit, async () => {
      try {
        const { recovered_count: n } = await app.api('POST', `/api/v1/webhooks/${webhook.id}/deliveries/recover`, { body });
        let text = `Recovered ${n} failed deliveries: each is being sent again as a new delivery.`;
        if (n === 0) text = 'No failed deliveries to recover in that window.';
        if (n === 1) text = 'Recovered 1 failed delivery: it is being sent again as a new delivery.';
        fill(result, notice('ok', text));
        document.dispatchEvent(new Event('hookd:deliveries-changed'));
      } catch (err) {
        if (!app.failed(err)) fill(result, notice('error', describe(err)));
      }
    });
  };
  return h('section', { class: 'panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Recover failed deliveries'),
    h('p', {}, 'Sends again, as new deliveries, those that ended failed in a time window. A failed delivery is recovered at most once.'),
    h('form', { class: 'form inline', novalidate: true, on: { submit: onSubmit } },
      field('Since (your local time)', since),
      field('Until (optional, default now)', until),
      h('div', { class: 'actions' }, submit),
      result));
}

// deliveryLog is the filterable, paged list of deliveries. Its filters live
// in the address (so Back and reload keep them) but changing them redraws
// only this section, so keyboard focus stays where it was.
function deliveryLog(app, webhook, query, onReload) {
  const titleId = uid('log');
  const state = {
    status: STATUSES.includes(query.get('status')) ? query.get('status') : '',
    taskId: isUUID(query.get('task_id') || '') ? query.get('task_id') : '',
    page: Math.max(1, parseInt(query.get('page'), 10) || 1),
  };
  const statusSelect = h('select', { name: 'delivery_status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: s === state.status }, s)));
  const taskInput = h('input', {
    type: 'text', name: 'task_id', value: state.taskId, pattern: UUID_PATTERN, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'task UUID',
  });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const results = h('div', { class: 'log-results' });
  const updated = h('span', { class: 'hint' });
  const auto = h('input', { type: 'checkbox', name: 'auto_refresh' });

  const keepInAddress = () => {
    const q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    if (state.taskId) q.set('task_id', state.taskId);
    if (state.page > 1) q.set('page', String(state.page));
    const qs = q.toString();
    history.replaceState(null, '', webhookHref(webhook.id) + (qs ? `?${qs}` : ''));
  };

  let loads = 0;
  const load = async () => {
    keepInAddress();
    if (loads++ > 0) onReload();
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await app.api('GET', `/api/v1/webhooks/${webhook.id}/deliveries`, {
        query: { current_page: state.page, per_page: PER_PAGE, delivery_status: state.status, task_id: state.taskId },
      });
      fill(results, renderDeliveries(app, webhook, data, state, (p) => () => { state.page = p; load(); }));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
      return data.page_meta.total_count;
    } catch (err) {
      if (!app.failed(err)) fill(results, notice('error', describe(err)));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };

  const onSubmit = (event) => {
    event.preventDefault();
    const taskId = taskInput.value.trim().toLowerCase();
    if (taskId && !isUUID(taskId)) {
      fill(results, notice('error', 'The task ID must be a UUID.'));
      taskInput.focus();
      return;
    }
    Object.assign(state, { status: statusSelect.value, taskId, page: 1 });
    load();
  };
  refresh.addEventListener('click', () => busy(refresh, async () => {
    const total = await load();
    if (total !== undefined) app.announce(`Delivery log updated: ${total} ${total === 1 ? 'delivery' : 'deliveries'}.`);
  }));
  // Automatic refresh, when asked for, skips a round while focus is in the
  // log so that redrawing it never pulls focus away from a keyboard user.
  let shown = false;
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (results.isConnected) shown = true;
    else if (shown || ticks > 3) clearInterval(timer); // the page was left (or never shown)
    if (shown && results.isConnected && auto.checked && !results.contains(document.activeElement)) load();
  }, 3000);
  const onChanged = () => {
    if (results.isConnected) load();
    else document.removeEventListener('hookd:deliveries-changed', onChanged);
  };
  document.addEventListener('hookd:deliveries-changed', onChanged);

  load();
  return h('section', { class: 'log', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Delivery log'),
    h('form', { class: 'filters', 'aria-label': 'Filter deliveries', novalidate: true, on: { submit: onSubmit } },
      field('Status', statusSelect),
      field('Task ID', taskInput),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters'), refresh)),
    h('div', { class: 'log-status' },
      h('label', { class: 'check' }, auto, ' Refresh every 3 seconds'), updated),
    results);
}

function renderDeliveries(app, webhook, data, state, goPage) {
  const list = data.delivery_list;
  if (list.length === 0) {
    const filtered = state.status || state.taskId;
    return h('div', { class: 'empty' }, h('p', {}, filtered
      ? 'No deliveries match these filters.'
      : 'No deliveries yet. They appear here when a task of this team finishes'
        + (app.session.canManage ? ', or when you send a test event.' : '.')));
  }
  return [
    table('Deliveries', ['Created', 'Event', 'Task ID', 'Status', 'Attempts', 'Last answer'], list.map((d) => [
      h('a', { href: `#/webhooks/${webhook.id}/deliveries/${d.id}`, 'aria-label': `Delivery ${d.id}, created ${d.created_at}` }, fmtTime(d.created_at)),
      h('code', { class: 'event' }, d.event_type),
      h('code', { class: 'id' }, d.task_id),
      statusBadge(d.delivery_status),
      String(d.attempt_count),
      lastAnswer(d),
    ])),
    pager(data.page_meta, ['delivery', 'deliveries'], goPage),
  ];
}
