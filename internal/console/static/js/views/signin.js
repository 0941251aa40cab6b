// Sign-in: an API key, or a user token (JWT) plus the team to act in.
import { h, fill } from '../dom.js';
import { isKey, isUUID, UUID_PATTERN } from '../api.js';
import { pageTitle, field, notice, describe, busy } from '../ui.js';

export function signInView(app) {
  const token = h('input', {
    type: 'password', id: 'credential', name: 'credential', required: true,
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
  });
  const team = h('input', {
    type: 'text', id: 'team-id', name: 'team-id', pattern: UUID_PATTERN,
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
    placeholder: '019abc12-3456-7890-abcd-ef1234567890',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const errors = h('div', { class: 'form-errors' });

  const onSubmit = async (event) => {
    event.preventDefault();
    const credential = token.value.trim();
    const teamId = team.value.trim().toLowerCase();
    if (!credential) return fill(errors, notice('error', 'Enter an API key or a user token.'));
    if (!isKey(credential) && !teamId) {
      team.focus();
      return fill(errors, notice('error', 'A user token acts in a team: enter the team ID as well.'));
    }
    if (!isKey(credential) && !isUUID(teamId)) {
      team.focus();
      return fill(errors, notice('error', 'The team ID must be a UUID such as 019abc12-3456-7890-abcd-ef1234567890.'));
    }
    fill(errors);
    await busy(submit, async () => {
      try {
        await app.signIn(credential, teamId);
      } catch (err) {
        fill(errors, notice('error', describe(err)));
        token.focus();
      }
    });
  };

  return [
    ...pageTitle('Sign in'),
    h('p', {}, 'Sign in with an API key (', h('code', {}, 'sk-…'), ' or ', h('code', {}, 'dk-…'),
      ') or with a user token (JWT) and the team to act in. ',
      'The console stays signed in only in this browser tab and sends the credential to nothing but this hookd\'s API.'),
    h('form', { class: 'form narrow', novalidate: true, 'aria-label': 'Sign in', on: { submit: onSubmit } },
      field('API key or user token', token),
      field('Team ID', team, 'Only for a user token; API keys belong to a team already.'),
      errors,
      h('div', { class: 'actions' }, submit)),
  ];
}
