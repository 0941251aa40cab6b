// Every node of the console is built here: elements by tag name, text as
// text nodes. No function takes markup, so a value from the API can only
// ever become text (the page's Content-Security-Policy also requires
// Trusted Types, which makes any HTML sink throw).

// Properties set as DOM properties (live state) rather than attributes.
const PROPERTIES = new Set(['value', 'checked']);

// h builds an element. props: attributes, plus `class`, `on` (event
// listeners) and the PROPERTIES; children: nodes, strings (as text), arrays.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.className = value;
    } else if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      if (key === 'href' && !String(value).startsWith('#')) {
        throw new Error('console links stay inside the console');
      }
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

// append adds children to el; strings and numbers become text nodes.
function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// fill replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let counter = 0;
// uid makes a document-unique id for label/aria wiring.
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}
