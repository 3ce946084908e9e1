// Small DOM helpers shared by the pages.

// Creates an element: attrs sets attributes (on* keys add listeners, class
// and text are shortcuts), children are nodes or strings.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A status message box: kind is "info", "error", "warning" or "ok".
export function notice(kind, title, text) {
  return el('div', { class: 'notice notice-' + kind, role: kind === 'error' ? 'alert' : 'status' },
    el('strong', { text: title }), text ? el('span', { text: ' ' + text }) : null);
}
