// Explore: a 2-D pad over two chosen latent dimensions, decoded live.
import { api, coalesced, state } from "./api.js";

const $ = (id) => document.getElementById(id);
const RANGE = 3; // the pad spans ±3 prior standard deviations
let latent = [];
const decode = coalesced(async () => {
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
  for (const id of ["dim-x", "dim-y"]) $(id).addEventListener("change", placeDot);
  $("explore-reset").addEventListener("click", () => { latent = latent.map(() => 0); placeDot(); decode(); });
  $("explore-from-sample").addEventListener("click", async () => {
    try {
      latent = (await api("/sample", { query: { format: "json" } })).latents[0];
      placeDot();
      decode();
    } catch { /* shown on the page */ }
  });
  onModelChange(() => {
    latent = new Array(state.latentDim).fill(0);
    const options = (selected) => latent.map((_, i) => new Option(`z${i}`, i, false, i === selected));
    $("dim-x").replaceChildren(...options(0));
    $("dim-y").replaceChildren(...options(1));
    placeDot();
    decode();
  });
}
