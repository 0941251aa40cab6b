// The X-Webhook-Signature-256 header, computed in the browser exactly as
// hookd computes it (SPEC §5): HMAC-SHA256 keyed with the secret string's
// bytes over the raw body, lower-case hex, prefixed "sha256=".

// sign returns the header value, or null when WebCrypto is unavailable
// (browsers offer it only on https:// pages and on localhost).
export async function sign(secret, body) {
  if (!globalThis.crypto || !crypto.subtle) return null;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
