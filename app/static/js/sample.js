// Sample: a grid of prior samples with seed, n, temperature, the prior (fitted by default) and
// an optional class label, from the model's own names.
import { api, pngImage } from "./api.js";

const $ = (id) => document.getElementById(id);

async function sample(newSeed = false) {
  if (newSeed) $("sample-seed").value = "";
  const body = await api("/sample", {
    query: {
      format: "json", n: $("sample-n").value, seed: $("sample-seed").value,
      temperature: $("sample-temperature").value, label: $("sample-label").value,
      prior: $("sample-label").value ? "" : $("sample-prior").value,
    },
  });
  $("sample-seed-used").value = body.seed;
  $("sample-prior-used").value = body.prior;
  $("sample-grid").replaceChildren(...body.images.map((image, i) => pngImage(image, `sample ${i + 1}`)));
}

export function setupSample(onModelChange) {
  $("sample-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sample().catch(() => {});
  });
  $("sample-again").addEventListener("click", () => sample(true).catch(() => {}));
  onModelChange((model) => {
    const labels = model.labels || model.digits || [];
    $("sample-label").replaceChildren(new Option("any", ""), ...labels.map((l) => new Option(l, l)));
    // The model's priors, its default first: "fitted" when the artifact has one.
    const priors = model.sample_priors || ["standard"];
    $("sample-prior").replaceChildren(...priors.map((p) => new Option(p, p)));
    sample().catch(() => {});
  });
}
