// HTTP access to the visionbench server: JSON requests with the API key and the /stream reader.

const KEY_STORAGE = 'visionbench.apiKey';

// The API key the user typed, kept for this browser tab only.
export function getApiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

// An error from the server (HTTP status and its JSON "error" and "field"),
// or a network failure (status 0).
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

function headers(extra) {
  const h = Object.assign({}, extra);
  const key = getApiKey();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

// Sends a request and returns the parsed JSON body. Throws ApiError for a
// network failure or a status outside 2xx, with the server's message.
export async function request(method, path, body, signal) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'cannot reach the server (' + e.message + ')');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error ? data.error : 'HTTP ' + response.status + ' ' + response.statusText;
    throw new ApiError(response.status, message, data && data.field);
  }
  return data;
}

// Reads the Server-Sent Events of GET /stream/{id} and calls
// onEvent(name, data) for each, data parsed as JSON. Uses fetch rather than
// EventSource because EventSource cannot send the Authorization header.
// Resolves when the server ends the stream; rejects with ApiError when the
// connection fails or breaks, or with AbortError when signal aborts.
export async function readStream(id, onEvent, signal) {
  let response;
  try {
    response = await fetch('/stream/' + encodeURIComponent(id), {
      headers: headers({ Accept: 'text/event-stream' }),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'cannot reach the server (' + e.message + ')');
  }
  if (!response.ok) {
    let message = 'HTTP ' + response.status;
    try {
      message = (await response.json()).error || message;
    } catch (e) {
      // The body was not JSON; keep the status line.
    }
    throw new ApiError(response.status, message);
  }

  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'the connection to the server broke (' + e.message + ')');
    }
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });

    // Events end with a blank line; "event:" names one, "data:" carries it.
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch (e) {
        continue;
      }
      onEvent(name, parsed);
    }
  }
}
