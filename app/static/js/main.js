// Wires the page together: the model picker, its summary in plain words, and the panels.
import { api, state } from "./api.js";
import { setupSample } from "./sample.js";
import { setupDraw } from "./draw.js";
import { setupInterpolate } from "./interpolate.js";
import { setupExplore } from "./explore.js";
import { setupWalk } from "./walk.js";
import { linked, remember } from "./link.js";

const number = (value, digits = 1) => (typeof value === "number" ? value.toFixed(digits) : "?");

// Format 2 records sample quality per prior; format 1 had one figure for N(0, I).
function sampleQuality(model) {
  const m = model.metrics || {};
  const prior = (model.sample_priors || ["standard"])[0];
  const figures = m.priors?.[prior]?.["T=1.0"];
  if (figures) {
    return `its ${prior}-prior samples score Fréchet distance ${number(figures.frechet_distance)}` +
      ` (real pictures: ${number(m.reference?.frechet_distance_train_vs_val)})`;
  }
  return `sample Fréchet distance ${number(m.frechet_distance)}`;
}

function describe(model) {
  const m = model.metrics || {};
  const t = model.training || {};
  const quality = m.bits_per_dim !== undefined
    ? `${number(m.bits_per_dim, 2)} bits per pixel`
    : `${number(m.nll)} nats per image`;
  const [channels, height, width] = model.image_shape || [1, 0, 0];
  const kind = channels === 3 ? "colour" : "grey";
  const credits = (model.credits || []).length ? ` Credits: ${model.credits.join("; ")}.` : "";
  return `${model.description || model.name}. ${width}×${height} ${kind} pictures; trained on ${model.dataset?.size ?? "?"} pictures ` +
    `(${model.dataset?.split ?? "?"}) for ${t.epochs ?? "?"} epochs in ${number((t.seconds ?? 0) / 60)} min ` +
    `on ${t.device ?? "?"}. On held-out pictures (${m.split ?? "?"}) it scores ${quality} ` +
    `(importance-weighted, k=${m.k ?? "?"}); ${sampleQuality(model)}. ` +
    `Latent size ${model.latent_dim}, ${model.likelihood} likelihood, served on ${model.device}.${credits}`;
}

const SAMPLING_PANELS = ["sample-panel", "interpolate-panel", "walk-panel"];
const listeners = [];
export const onModelChange = (listener) => listeners.push(listener);

// The listing is compact; the summary's figures come from the model's full metadata.
async function choose(name) {
  const model = state.models.find((m) => m.name === name);
  state.model = model.name;
  state.latentDim = model.latent_dim;
  state.classes = model.labels || model.digits || [];
  state.colour = (model.image_shape || [1])[0] === 3;
  state.background = model.background || [255, 255, 255];
  state.a = state.b = state.drawing = null;
  remember({ model: model.name });
  const summary = document.getElementById("model-summary");
  summary.textContent = `${model.description || model.name}.`;
  // What the model cannot do is not shown: without a prior whose draws are pictures (a
  // diffusion model's autoencoder), there is nothing to sample, walk or interpolate from.
  for (const id of SAMPLING_PANELS) document.getElementById(id).hidden = model.can_sample === false;
  listeners.forEach((listener) => listener(model));
  const detail = await api(`/models/${encodeURIComponent(name)}`);
  if (state.model === name) summary.textContent = describe(detail);
}

// Load the model list (again after the API key changes) and choose the first model.
async function start() {
  const { default: fallback, models } = await api("/models");
  state.models = models;
  const picker = document.getElementById("model");
  // The model the address names, when it is loaded; else the server's default.
  const initial = models.some((m) => m.name === linked("model")) ? linked("model") : fallback;
  picker.replaceChildren(...models.map((m) => new Option(m.name, m.name, false, m.name === initial)));
  picker.onchange = () => choose(picker.value);
  await choose(initial);
}

// The API key's listener is added once: start() runs again on every edit of the key.
const keyInput = document.getElementById("api-key");
keyInput.value = sessionStorage.getItem("vae-api-key") || "";
keyInput.addEventListener("change", () => {
  sessionStorage.setItem("vae-api-key", keyInput.value);
  start().catch(() => { /* already shown on the page */ });
});

setupSample(onModelChange);
setupDraw(onModelChange);
setupInterpolate(onModelChange);
setupExplore(onModelChange);
setupWalk(onModelChange);
start().catch(() => { /* already shown on the page */ });
