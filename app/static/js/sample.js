// Sample: a grid of prior samples with seed, n, temperature and an optional digit class.
import { api, pngImage } from "./api.js";

const $ = (id) => document.getElementById(id);

async function sample(newSeed = false) {
  if (newSeed) $("sample-seed").value = "";
  const body = await api("/sample", {
    query: {
      format: "json", n: $("sample-n").value, seed: $("sample-seed").value,
      temperature: $("sample-temperature").value, digit: $("sample-digit").value,
    },
  });
  $("sample-seed-used").value = body.seed;
  $("sample-grid").replaceChildren(...body.images.map((image, i) => pngImage(image, `sample ${i + 1}`)));
}

export function setupSample(onModelChange) {
  $("sample-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sample().catch(() => {});
  });
  $("sample-again").addEventListener("click", () => sample(true).catch(() => {}));
  onModelChange((model) => {
    const digits = Object.keys(model.class_latents || {}).sort();
    $("sample-digit").replaceChildren(new Option("any", ""), ...digits.map((d) => new Option(d, d)));
    sample().catch(() => {});
  });
}
