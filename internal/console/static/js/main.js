// The console's entry point: the session, the header and a hash router.
// Routes carry ids only (#/webhooks/<id>/deliveries/<id>); the credential is
// never part of a URL.
import { h, fill } from './dom.js';
import { call, loadStored, store, forget, signIn } from './api.js';
import { describe, notice, pageTitle } from './ui.js';
import { signInView } from './views/signin.js';
import { webhookListView, createWebhookView } from './views/webhooks.js';
import { webhookView } from './views/webhook.js';
import { editWebhookView } from './views/edit.js';
import { deliveryView } from './views/delivery.js';

const ID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const routes = [
  [new RegExp('^#/webhooks$'), webhookListView],
  [new RegExp('^#/webhooks/new$'), createWebhookView],
  [new RegExp(`^#/webhooks/${ID}$`), webhookView],
  [new RegExp(`^#/webhooks/${ID}/edit$`), editWebhookView],
  [new RegExp(`^#/webhooks/${ID}/deliveries/${ID}$`), deliveryView],
];

const main = document.getElementById('main');
const who = document.getElementById('who');
const announcer = document.getElementById('announce');

// app is what every view receives.
const app = {
  session: null,
  flash: null, // {kind, text} shown at the top of the next view
  userAgent: document.querySelector('meta[name="hookd-user-agent"]').content,

  api(method, path, options) {
    return call(app.session, method, path, options);
  },
  // announce tells screen readers about an outcome that has no focus change.
  announce(text) {
    announcer.textContent = '';
    setTimeout(() => { announcer.textContent = text; }, 50);
  },
  // go opens a route, re-rendering when it is the current one; flash is
  // shown at the top of the next view.
  go(hash, flash) {
    app.flash = flash || null;
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  async signIn(token, teamId) {
    app.session = await signIn(token, teamId);
    store(app.session);
    app.go('#/webhooks');
  },
  signOut(flash) {
    forget();
    app.session = null;
    app.go('#/sign-in', flash);
  },
  // failed handles an error of a view or an action: a refused credential
  // ends the session (with the API's reason), anything else is the caller's.
  failed(err) {
    if (err && err.status === 401) {
      app.signOut({ kind: 'error', text: describe(err) });
      return true;
    }
    return false;
  },
};

function renderWho() {
  if (!app.session) {
    who.replaceChildren();
    return;
  }
  const access = app.session.canManage ? 'can manage webhooks' : 'read-only';
  fill(who,
    h('span', { class: 'who-text' }, `Signed in with ${app.session.kind} · ${access}`),
    h('button', { type: 'button', class: 'link-button', on: { click: () => app.signOut({ kind: 'ok', text: 'Signed out.' }) } }, 'Sign out'));
}

let generation = 0;

async function render() {
  const current = ++generation;
  const [path, queryString] = (location.hash || '#/').split('?');
  const query = new URLSearchParams(queryString || '');
  const flash = app.flash;
  app.flash = null;
  renderWho();
  if (!app.session) {
    if (path !== '#/sign-in') history.replaceState(null, '', '#/sign-in');
    show(current, flash, signInView(app));
    return;
  }
  if (path === '#/' || path === '#/sign-in' || path === '#') {
    history.replaceState(null, '', '#/webhooks');
    return render();
  }
  const route = routes.find(([re]) => re.test(path));
  if (!route) {
    show(current, flash, [...pageTitle('Page not found'),
      h('p', {}, 'The console has no page at this address. ', h('a', { href: '#/webhooks' }, 'Go to the webhooks.'))]);
    return;
  }
  const params = path.match(route[0]).slice(1);
  main.setAttribute('aria-busy', 'true');
  try {
    const view = await route[1](app, params, query);
    show(current, flash, view);
  } catch (err) {
    if (current !== generation || app.failed(err)) return;
    show(current, flash, [...pageTitle('This page could not be loaded', [['Webhooks', '#/webhooks']]),
      notice('error', describe(err)),
      h('p', {}, h('button', { type: 'button', on: { click: render } }, 'Try again'))]);
  }
}

function show(current, flash, view) {
  if (current !== generation) return; // a newer navigation won
  main.removeAttribute('aria-busy');
  fill(main, flash ? notice(flash.kind, flash.text) : null, view);
  const heading = main.querySelector('h1');
  (heading || main).focus();
  document.title = heading ? `${heading.textContent} · hookd console` : 'hookd console';
}

// resume checks the credential kept in this tab, if any. A credential hookd
// refuses is forgotten with the reason shown; when hookd does not answer,
// the credential is kept and the page offers to try again.
async function resume() {
  const stored = loadStored();
  if (stored) {
    try {
      app.session = await signIn(stored.token, stored.teamId);
    } catch (err) {
      if (err.status === 0) {
        fill(main, ...pageTitle('hookd is not reachable'), notice('error', describe(err)),
          h('p', {}, h('button', { type: 'button', on: { click: resume } }, 'Try again')));
        main.querySelector('h1').focus();
        return;
      }
      forget();
      app.flash = { kind: 'error', text: describe(err) };
    }
  }
  render();
}

window.addEventListener('hashchange', () => { if (app.session || !loadStored()) render(); });
resume();
