// Draw: a canvas encoded live, with its reconstruction and latent mean. Grey models get white
// ink on black; colour models a colour picker on their own background. A dropped or pasted
// picture is fitted onto the canvas and encoded the same way.
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
let picture = false; // the canvas holds a dropped or pasted picture, not strokes

const paper = () => (state.colour ? `rgb(${state.background.join(",")})` : "black");

// How the server reads the canvas. Grey: it crops the ink, fits it into MNIST's 20x20 box and
// centres it by mass (?preprocess=mnist), the code that reads photos; a dropped photo of dark
// ink on paper is inverted by ?invert=auto. Colour: the picture is fitted as it is.
function readQuery() {
  if (state.colour) return {};
  return { invert: picture ? "auto" : "false", preprocess: "mnist" };
}

const encodeDrawing = coalesced(async () => {
  if (!inked) return;
  const png = await new Promise((resolve) => $("draw-canvas").toBlob(resolve, "image/png"));
  const query = readQuery();
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
  context.fillStyle = paper();
  context.fillRect(0, 0, canvas.width, canvas.height);
  canvas.style.background = paper();
  inked = picture = false;
  state.drawing = null;
  $("draw-bars").replaceChildren();
  $("draw-reconstruction").removeAttribute("src");
}

// A picture file (drop or paste): fitted into the canvas keeping its aspect ratio.
async function placePicture(file) {
  if (!file || !file.type.startsWith("image/")) return;
  const bitmap = await createImageBitmap(file);
  clear();
  const canvas = $("draw-canvas");
  const ratio = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  const [w, h] = [bitmap.width * ratio, bitmap.height * ratio];
  canvas.getContext("2d").drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  inked = picture = true;
  encodeDrawing();
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
    const ink = state.colour ? $("draw-colour").value : "white";
    Object.assign(context, { strokeStyle: ink, lineWidth: Number($("draw-width").value), lineCap: "round", lineJoin: "round" });
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
  canvas.addEventListener("dragover", (event) => event.preventDefault());
  canvas.addEventListener("drop", (event) => {
    event.preventDefault();
    placePicture(event.dataTransfer?.files?.[0]).catch(() => {});
  });
  document.addEventListener("paste", (event) => {
    const item = [...(event.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
    if (item) placePicture(item.getAsFile()).catch(() => {});
  });
  $("draw-clear").addEventListener("click", clear);
  onModelChange(() => {
    $("draw-colour-label").hidden = !state.colour;
    clear();
  });
}
