// Interpolate: two ends (samples or drawings), linear or slerp, a steps slider.
import { api, pngImage, showError, state } from "./api.js";

const $ = (id) => document.getElementById(id);

async function newSample() {
  const body = await api("/sample", { query: { format: "json" } });
  return { latent: body.latents[0], label: `sample (seed ${body.seed})` };
}

async function render() {
  $("a-label").value = state.a?.label ?? "–";
  $("b-label").value = state.b?.label ?? "–";
  if (!state.a || !state.b) return;
  const method = document.querySelector("input[name=method]:checked").value;
  const body = await api("/interpolate", {
    method: "POST", query: { format: "json" },
    json: { latents: [state.a.latent, state.b.latent], steps: Number($("steps").value), method },
  });
  $("strip").replaceChildren(...body.images.map((image, i) => pngImage(image, `step ${i + 1}`)));
}

function setEnd(which, end) {
  state[which] = end;
  render().catch(() => {});
}

export function setupInterpolate(onModelChange) {
  $("pick-a").addEventListener("click", () => newSample().then((end) => setEnd("a", end)).catch(() => {}));
  $("pick-b").addEventListener("click", () => newSample().then((end) => setEnd("b", end)).catch(() => {}));
  for (const which of ["a", "b"]) {
    $(`draw-to-${which}`).addEventListener("click", () => {
      if (!state.drawing) { showError("Draw something first, then use it as an end."); return; }
      setEnd(which, { latent: state.drawing, label: "your drawing" });
    });
  }
  document.querySelectorAll("input[name=method]").forEach((radio) => radio.addEventListener("change", () => render().catch(() => {})));
  $("steps").addEventListener("input", () => {
    $("steps-value").value = $("steps").value;
    render().catch(() => {});
  });
  onModelChange(async () => {
    $("strip").replaceChildren();
    try {
      state.a = await newSample();
      state.b = await newSample();
      await render();
    } catch { /* shown on the page */ }
  });
}
