// The console's only way to talk to hookd: the public JSON API, with the
// credential the user signed in with as a Bearer token. The credential lives
// in sessionStorage (this tab only, gone when it closes), never in a URL or
// a cookie.

const STORAGE_KEY = 'hookd.console.session';

// A webhook id that cannot exist (UUIDs hookd makes are version 7).
const PROBE_ID = '00000000-0000-0000-0000-000000000000';

export const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID_RE = new RegExp(`^${UUID_PATTERN}$`);
export const isUUID = (s) => UUID_RE.test(s);

// isKey: integration (sk-) and device (dk-) keys carry their team; a JWT
// needs the team sent alongside.
export const isKey = (token) => /^(sk|dk)-/.test(token);

function credentialKind(token) {
  if (token.startsWith('sk-')) return 'an integration key';
  if (token.startsWith('dk-')) return 'a device key';
  return 'a user token';
}

export function loadStored() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    if (s && typeof s.token === 'string' && typeof s.teamId === 'string') return s;
  } catch {
    // unreadable: treat as signed out
  }
  return null;
}

export function store(session) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ token: session.token, teamId: session.teamId }));
}

export function forget() {
  sessionStorage.removeItem(STORAGE_KEY);
}

// ApiError is an answer other than 2xx (status and the API's error_message),
// or status 0 when hookd could not be reached.
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

// call makes one API request and returns the decoded JSON (null for 204).
export async function call(session, method, path, { query, body } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Authorization: `Bearer ${session.token}`, Accept: 'application/json' };
  if (!isKey(session.token)) headers['X-Team-ID'] = session.teamId;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, `hookd did not answer (${err.message}).`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const message = data && typeof data.error_message === 'string' ? data.error_message : `HTTP ${res.status}`;
    throw new ApiError(res.status, message, data && data.error_code);
  }
  return data;
}

// signIn checks a credential and learns what it may do, with two read-only
// calls of the public API: listing webhooks (any role may; a bad, expired or
// revoked credential is 401, a missing team 400, a non-member 403), then
// reading a webhook that cannot exist. The API checks the role before it
// looks the webhook up, so an admin gets 404 and a lesser role 403: the
// console shows write controls only to callers the API would let write.
export async function signIn(token, teamId) {
  const session = { token, teamId: isKey(token) ? '' : teamId, kind: credentialKind(token), canManage: false };
  await call(session, 'GET', '/api/v1/webhooks', { query: { per_page: 1 } });
  try {
    await call(session, 'GET', `/api/v1/webhooks/${PROBE_ID}`);
    session.canManage = true;
  } catch (err) {
    if (err.status === 404) session.canManage = true;
    else if (err.status !== 403) throw err;
  }
  return session;
}
