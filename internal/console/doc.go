// Package console is hookd's web console: a static page and a few small
// JavaScript modules, embedded in the binary and served at /console/.
//
// The console is a client of the public JSON API and nothing else. The
// browser keeps the caller's credential in sessionStorage and sends it as a
// Bearer token on every API call, so the server never renders API data:
// the only server-side template is the page shell, which carries the
// User-Agent deliveries are sent with. Every value from the API is put into
// the page as text (createElement and textContent only), and the responses
// carry a strict Content-Security-Policy (no inline script or style, Trusted
// Types required so that an HTML sink throws instead of parsing) — a hostile
// webhook name stays a string of characters.
package console
