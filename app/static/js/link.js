// The page's state in its address: each panel writes its controls into the query string as
// they change, and reads them back when the page opens, so a copied link shows the same
// pictures. Random choices (a new seed) are written as the seed they drew.
const opened = new URLSearchParams(window.location.search);

// A value the address held when the page opened (null when none).
export const linked = (name) => opened.get(name);

// Write values into the address without a reload or a history entry; "" or null removes one.
export function remember(values) {
  const url = new URL(window.location.href);
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") url.searchParams.delete(name);
    else url.searchParams.set(name, String(value));
  }
  window.history.replaceState(null, "", url);
}

// A latent vector in an address: its numbers as JavaScript prints them, which read back to the
// same float, so the same vector reaches the server.
export const latentText = (latent) => latent.map(String).join(",");
export const latentFrom = (text) => text.split(",").map(Number);

// A seed for a request that asks for a new one: drawn here, so the address can hold it.
export const newSeed = () => Math.floor(Math.random() * 2 ** 31);

// Set a control from the address when the page opened with a value for it.
export function restore(id, name) {
  const value = linked(name);
  if (value !== null) document.getElementById(id).value = value;
}
