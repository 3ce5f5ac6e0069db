// Interpolate: two ends (samples or drawings), linear or slerp, a steps slider, and an animated
// version of the strip. Ends are kept in the address as seeds (a=12) or, for a drawing, as its
// latent (a=z:0.1,-0.3,...).
import { api, pngImage, showError, state } from "./api.js";
import { showAnimation, hideAnimation } from "./animation.js";
import { latentFrom, latentText, linked, remember, restore } from "./link.js";

const $ = (id) => document.getElementById(id);
let first = true;

async function sampleEnd(seed) {
  const body = await api("/sample", { query: { format: "json", seed } });
  return { latent: body.latents[0], seed: body.seed, label: `sample (seed ${body.seed})` };
}

// An end from the address: a seed, or a latent of this model's size.
async function linkedEnd(which) {
  const text = linked(which);
  if (text?.startsWith("z:")) {
    const latent = latentFrom(text.slice(2));
    if (latent.length === state.latentDim && latent.every(Number.isFinite)) {
      return { latent, label: "a latent from the link" };
    }
  } else if (text !== null && /^\d+$/.test(text)) {
    return sampleEnd(text);
  }
  return sampleEnd();
}

const endText = (end) => (end.seed !== undefined ? end.seed : `z:${latentText(end.latent)}`);

async function animate() {
  const method = document.querySelector("input[name=method]:checked").value;
  const format = $("animate-format").value;
  const steps = Number($("steps").value);
  const options = { scale: state.colour ? 2 : 4, fps: 8, bounce: true };
  if (state.a.seed !== undefined && state.b.seed !== undefined) {
    // Two seeds: a GET that caches may keep.
    const query = { ...options, seed_a: state.a.seed, seed_b: state.b.seed, steps, method };
    await showAnimation("animation", "animation-download", `/interpolate.${format}`, { query });
  } else {
    const json = { latents: [state.a.latent, state.b.latent], steps, method };
    await showAnimation("animation", "animation-download", `/interpolate.${format}`, { query: options, json });
  }
}

async function render() {
  $("a-label").value = state.a?.label ?? "–";
  $("b-label").value = state.b?.label ?? "–";
  if (!state.a || !state.b) return;
  const method = document.querySelector("input[name=method]:checked").value;
  const animated = $("animate").checked;
  remember({
    a: endText(state.a), b: endText(state.b), steps: $("steps").value, method,
    animate: animated ? $("animate-format").value : "",
  });
  const body = await api("/interpolate", {
    method: "POST", query: { format: "json" },
    json: { latents: [state.a.latent, state.b.latent], steps: Number($("steps").value), method },
  });
  $("strip").replaceChildren(...body.images.map((image, i) => pngImage(image, `step ${i + 1}`)));
  if (animated) await animate();
  else hideAnimation("animation", "animation-download");
}

function setEnd(which, end) {
  state[which] = end;
  render().catch(() => {});
}

export function setupInterpolate(onModelChange) {
  restore("steps", "steps");
  $("steps-value").value = $("steps").value;
  // Compared as text, never put into a selector: the address is anybody's to write.
  for (const radio of document.querySelectorAll("input[name=method]")) {
    if (radio.value === linked("method")) radio.checked = true;
  }
  if (["gif", "webp"].includes(linked("animate"))) {
    $("animate").checked = true;
    $("animate-format").value = linked("animate");
  }
  $("pick-a").addEventListener("click", () => sampleEnd().then((end) => setEnd("a", end)).catch(() => {}));
  $("pick-b").addEventListener("click", () => sampleEnd().then((end) => setEnd("b", end)).catch(() => {}));
  for (const which of ["a", "b"]) {
    $(`draw-to-${which}`).addEventListener("click", () => {
      if (!state.drawing) { showError("Draw something first, then use it as an end."); return; }
      setEnd(which, { latent: state.drawing, label: "your drawing" });
    });
  }
  const again = () => render().catch(() => {});
  document.querySelectorAll("input[name=method]").forEach((radio) => radio.addEventListener("change", again));
  $("animate").addEventListener("change", again);
  $("animate-format").addEventListener("change", again);
  $("steps").addEventListener("input", () => {
    $("steps-value").value = $("steps").value;
    again();
  });
  onModelChange(async (model) => {
    $("strip").replaceChildren();
    hideAnimation("animation", "animation-download");
    if (model.can_sample === false) return; // the panel is hidden (main.js)
    try {
      // The address's ends for the model it names; new samples after a change of model.
      [state.a, state.b] = first
        ? await Promise.all([linkedEnd("a"), linkedEnd("b")])
        : await Promise.all([sampleEnd(), sampleEnd()]);
      first = false;
      await render();
    } catch { /* shown on the page */ }
  });
}
