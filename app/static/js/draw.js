// Draw: a canvas for a digit; encoded live, with its reconstruction and latent mean.
import { api, coalesced, state } from "./api.js";

const $ = (id) => document.getElementById(id);

function drawBars(mean) {
  const limit = Math.max(3, ...mean.map(Math.abs));
  $("draw-bars").replaceChildren(...mean.map((value, i) => {
    const bar = document.createElement("div");
    bar.style.height = `${(Math.abs(value) / limit) * 50}%`;
    bar.style.alignSelf = value >= 0 ? "flex-end" : "flex-start";
    bar.style.transform = value >= 0 ? "translateY(-50%)" : "translateY(50%)";
    bar.title = `z${i} = ${value.toFixed(2)}`;
    return bar;
  }));
}

let inked = false;

// The whole canvas goes to the server, which crops the ink, fits it into MNIST's 20x20 box and
// centres it by mass (?preprocess=mnist): the same code that reads photos and uploads.
const encodeDrawing = coalesced(async () => {
  if (!inked) return;
  const png = await new Promise((resolve) => $("draw-canvas").toBlob(resolve, "image/png"));
  const query = { invert: "false", preprocess: "mnist" };
  const [encoded, reconstruction] = await Promise.all([
    api("/encode", { method: "POST", body: png, contentType: "image/png", query }),
    api("/reconstruct", { method: "POST", body: png, contentType: "image/png", query: { ...query, scale: 4 } }),
  ]);
  state.drawing = encoded.mean[0];
  drawBars(state.drawing);
  const image = $("draw-reconstruction");
  if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(reconstruction);
});

function clear() {
  const canvas = $("draw-canvas");
  const context = canvas.getContext("2d");
  context.fillStyle = "black";
  context.fillRect(0, 0, canvas.width, canvas.height);
  inked = false;
  state.drawing = null;
  $("draw-bars").replaceChildren();
  $("draw-reconstruction").removeAttribute("src");
}

export function setupDraw(onModelChange) {
  const canvas = $("draw-canvas");
  const context = canvas.getContext("2d");
  clear();
  let last = null;
  let lastSent = 0;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
  };
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    Object.assign(context, { strokeStyle: "white", lineWidth: 22, lineCap: "round", lineJoin: "round" });
    context.beginPath();
    context.moveTo(...last);
    context.lineTo(...next);
    context.stroke();
    inked = true;
    last = next;
    if (performance.now() - lastSent > 200) { lastSent = performance.now(); encodeDrawing(); }
  });
  const end = () => { if (last) { last = null; encodeDrawing(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("draw-clear").addEventListener("click", clear);
  onModelChange(() => clear());
}
