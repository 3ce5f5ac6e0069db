// Explore: a 2-D pad over two chosen latent dimensions, decoded live. The point and the two
// dimensions are kept in the address.
import { api, coalesced, state } from "./api.js";
import { latentFrom, latentText, linked, remember } from "./link.js";

const $ = (id) => document.getElementById(id);
const RANGE = 3; // the pad spans ±3 prior standard deviations
let latent = [];
let first = true;
const decode = coalesced(async () => {
  remember({ explore_x: $("dim-x").value, explore_y: $("dim-y").value, explore_z: latentText(latent) });
  const png = await api("/decode", { method: "POST", query: { scale: 6 }, json: { latents: [latent] } });
  const image = $("explore-image");
  if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(png);
});

function placeDot() {
  const [x, y] = [latent[$("dim-x").value], latent[$("dim-y").value]];
  const dot = $("pad-dot");
  dot.style.left = `${((x + RANGE) / (2 * RANGE)) * 100}%`;
  dot.style.top = `${((RANGE - y) / (2 * RANGE)) * 100}%`;
  $("pad").setAttribute("aria-valuetext", `x ${x.toFixed(2)}, y ${y.toFixed(2)}`);
}

function move(x, y) {
  const clamp = (v) => Math.max(-RANGE, Math.min(RANGE, v));
  latent[$("dim-x").value] = clamp(x);
  latent[$("dim-y").value] = clamp(y);
  placeDot();
  decode();
}

export function setupExplore(onModelChange) {
  const pad = $("pad");
  const fromPointer = (event) => {
    const box = pad.getBoundingClientRect();
    move(((event.clientX - box.left) / box.width) * 2 * RANGE - RANGE, RANGE - ((event.clientY - box.top) / box.height) * 2 * RANGE);
  };
  pad.addEventListener("pointerdown", (event) => { pad.setPointerCapture(event.pointerId); fromPointer(event); });
  pad.addEventListener("pointermove", (event) => { if (event.buttons) fromPointer(event); });
  pad.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 0.5 : 0.1;
    const [x, y] = [latent[$("dim-x").value], latent[$("dim-y").value]];
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (!(event.key in moves)) return;
    event.preventDefault();
    move(x + moves[event.key][0], y + moves[event.key][1]);
  });
  for (const id of ["dim-x", "dim-y"]) $(id).addEventListener("change", () => { placeDot(); decode(); });
  $("explore-reset").addEventListener("click", () => { latent = latent.map(() => 0); placeDot(); decode(); });
  $("explore-from-sample").addEventListener("click", async () => {
    try {
      latent = (await api("/sample", { query: { format: "json" } })).latents[0];
      placeDot();
      decode();
    } catch { /* shown on the page */ }
  });
  onModelChange((model) => {
    $("explore-from-sample").hidden = model.can_sample === false;
    latent = new Array(state.latentDim).fill(0);
    let [x, y] = [0, 1];
    const linkedLatent = latentFrom(linked("explore_z") ?? "");
    if (first && linkedLatent.length === state.latentDim && linkedLatent.every(Number.isFinite)) {
      latent = linkedLatent;
      const dim = (name, fallback) => {
        const value = Number(linked(name));
        return Number.isInteger(value) && value >= 0 && value < state.latentDim ? value : fallback;
      };
      [x, y] = [dim("explore_x", 0), dim("explore_y", 1)];
    }
    first = false;
    const options = (selected) => latent.map((_, i) => new Option(`z${i}`, i, false, i === selected));
    $("dim-x").replaceChildren(...options(x));
    $("dim-y").replaceChildren(...options(y));
    placeDot();
    decode();
  });
}
