// Draw: a canvas for a digit; encoded live, with its reconstruction and latent mean.
import { api, coalesced, state } from "./api.js";

const $ = (id) => document.getElementById(id);

// MNIST digits sit in a 20x20 box centred in 28x28: crop the ink and place it the same way.
function mnistStyle(canvas) {
  const { width, height } = canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let [left, top, right, bottom] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[(y * width + x) * 4] > 20) {
        left = Math.min(left, x); right = Math.max(right, x);
        top = Math.min(top, y); bottom = Math.max(bottom, y);
      }
    }
  }
  if (right < 0) return null;
  const side = Math.max(right - left, bottom - top) + 1;
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const context = small.getContext("2d");
  context.fillStyle = "black";
  context.fillRect(0, 0, 28, 28);
  const scale = 20 / side;
  const w = (right - left + 1) * scale, h = (bottom - top + 1) * scale;
  context.drawImage(canvas, left, top, right - left + 1, bottom - top + 1, (28 - w) / 2, (28 - h) / 2, w, h);
  return small;
}

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

const encodeDrawing = coalesced(async () => {
  const small = mnistStyle($("draw-canvas"));
  if (!small) return;
  const png = await new Promise((resolve) => small.toBlob(resolve, "image/png"));
  const [encoded, reconstruction] = await Promise.all([
    api("/encode", { method: "POST", body: png, contentType: "image/png", query: { invert: "false" } }),
    api("/reconstruct", { method: "POST", body: png, contentType: "image/png", query: { invert: "false", scale: 4 } }),
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
    last = next;
    if (performance.now() - lastSent > 200) { lastSent = performance.now(); encodeDrawing(); }
  });
  const end = () => { if (last) { last = null; encodeDrawing(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("draw-clear").addEventListener("click", clear);
  onModelChange(() => clear());
}
