// The page's only way to the server: the documented HTTP API, like any other client.

export const state = {
  model: null, models: [], latentDim: 0, a: null, b: null, drawing: null,
  colour: false, background: [255, 255, 255],
};

const errorBox = () => document.getElementById("error");

export function showError(message) {
  const box = errorBox();
  box.textContent = message;
  box.hidden = false;
}

export function clearError() {
  errorBox().hidden = true;
}

function headers(extra = {}) {
  const key = sessionStorage.getItem("vae-api-key");
  return key ? { ...extra, "X-API-Key": key } : extra;
}

// Calls the API and returns parsed JSON (or a Blob for PNG). Errors are shown on the page and
// rethrown, so callers can stop what they were doing.
export async function api(path, { method = "GET", query = {}, json, body, contentType } = {}) {
  const url = new URL(path, window.location.origin);
  // /models routes name the model in the path; every other route takes ?model=.
  if (state.model && !path.startsWith("/models")) url.searchParams.set("model", state.model);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const init = { method, headers: headers() };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers = headers({ "Content-Type": "application/json" });
  } else if (body !== undefined) {
    init.body = body;
    init.headers = headers({ "Content-Type": contentType });
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    showError(`Cannot reach the server: ${error.message}`);
    throw error;
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
    const message = `${method} ${url.pathname} failed (${response.status}): ${detail}`;
    showError(message);
    throw new Error(message);
  }
  clearError();
  const type = response.headers.get("content-type") || "";
  return type.startsWith("image/") ? response.blob() : response.json();
}

export function pngImage(base64, alt) {
  const image = new Image();
  image.src = `data:image/png;base64,${base64}`;
  image.alt = alt;
  return image;
}

// Wraps `work` so that it runs one call at a time: calls made meanwhile collapse into a single
// further run. Live encoding and decoding then never pile up requests.
export function coalesced(work) {
  let busy = false;
  let again = false;
  const run = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      await work();
    } catch { /* already shown on the page */ } finally {
      busy = false;
      if (again) { again = false; run(); }
    }
  };
  return run;
}
