// Building blocks shared by the views: headings, notices, tables that turn
// into cards on narrow screens, pagers, the confirmation dialog and the
// show-once secret panel.
import { h, uid } from './dom.js';

// pageTitle is a view's breadcrumb trail and its h1, which receives focus
// when the view opens so keyboard and screen-reader users start there.
export function pageTitle(title, crumbs = []) {
  const parts = [];
  if (crumbs.length) {
    parts.push(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('ol', {}, crumbs.map(([label, href]) => h('li', {}, h('a', { href }, label))))));
  }
  parts.push(h('h1', { tabindex: '-1' }, title));
  return parts;
}

// describe turns an API error into a sentence for people.
export function describe(err) {
  if (!err || err.status === undefined) return `Something went wrong in the console: ${err && err.message}`;
  switch (err.status) {
    case 0: return err.message;
    case 401: return `hookd refused the credential: ${err.message}.`;
    case 403: return `Not allowed: ${err.message}.`;
    default: return `${err.message} (HTTP ${err.status}).`;
  }
}

export function notice(kind, ...content) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content);
}

// fmtTime shows an API timestamp (RFC 3339, UTC) as "2026-02-16 09:00:00 UTC".
export function fmtTime(ts) {
  if (!ts) return '—';
  return h('time', { datetime: ts }, ts.replace('T', ' ').replace(/Z$/, ' UTC'));
}

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}` }, status);
}

export function code(text) {
  return h('code', {}, text);
}

// table renders rows as a table; each cell carries its column name so the
// stylesheet can show rows as labelled cards on a narrow screen.
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'cards' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((cells) => h('tr', {},
        cells.map((cell, i) => h('td', { 'data-label': columns[i] }, h('div', {}, cell))))))));
}

// details renders label/value pairs.
export function details(pairs) {
  return h('dl', { class: 'details' },
    pairs.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value))));
}

// pager shows "page x of y" with previous/next controls; go(n) moves there
// (a link target when it returns a string, a click handler otherwise).
// nouns are the singular and plural of what is counted.
export function pager(meta, [one, many], go) {
  const pages = Math.max(1, Math.ceil(meta.total_count / meta.per_page));
  const count = `${meta.total_count} ${meta.total_count === 1 ? one : many}`;
  if (pages === 1 && meta.current_page === 1) return h('p', { class: 'pager-text' }, count);
  const control = (label, page, enabled) => {
    if (!enabled) return h('span', { class: 'button disabled', 'aria-disabled': 'true' }, label);
    const target = go(page);
    return typeof target === 'string'
      ? h('a', { class: 'button', href: target }, label)
      : h('button', { type: 'button', on: { click: target } }, label);
  };
  return h('nav', { class: 'pager', 'aria-label': `${many} pages` },
    control('Previous page', meta.current_page - 1, meta.current_page > 1),
    h('span', { class: 'pager-text' }, `Page ${meta.current_page} of ${pages} · ${count}`),
    control('Next page', meta.current_page + 1, meta.current_page < pages));
}

// field wraps a control with its label and an optional hint.
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const parts = [h('label', { for: id }, label)];
  if (hint) {
    const hintId = uid('hint');
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { class: 'hint', id: hintId }, hint));
  }
  parts.push(control);
  return h('div', { class: 'field' }, parts);
}

// confirmAction asks in a modal dialog (Escape or Cancel says no) and
// resolves to whether the user confirmed.
export function confirmAction({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': titleId });
    const cancel = h('button', { type: 'button', on: { click: () => dialog.close('cancel') } }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger', on: { click: () => dialog.close('confirm') } }, confirmLabel);
    dialog.append(h('h2', { id: titleId }, title), h('p', {}, message), h('div', { class: 'actions' }, cancel, ok));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

// secretPanel shows a webhook secret the one time the API returns it
// unasked (create, rotate), with a copy button.
export function secretPanel(title, secret, explanation) {
  const titleId = uid('secret');
  const input = h('input', { type: 'text', readonly: true, value: secret, class: 'secret-value', spellcheck: 'false' });
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = 'Copied.';
    } catch {
      input.select();
      status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  };
  return h('section', { class: 'secret-panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title),
    h('p', {}, explanation),
    field('Webhook secret', input),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', on: { click: copy } }, 'Copy secret'), status));
}

// busy disables a button while an action runs, so a double click does not
// send twice.
export async function busy(button, fn) {
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
  }
}

// lastAnswer summarises the latest attempt: its status code and/or error.
export function lastAnswer(d) {
  const parts = [];
  if (d.last_status_code !== null) parts.push(`HTTP ${d.last_status_code}`);
  if (d.last_error && d.last_error !== parts[0]) parts.push(d.last_error);
  if (parts.length === 0) return d.attempt_count === 0 ? 'not attempted yet' : '—';
  return parts.join(' · ');
}
