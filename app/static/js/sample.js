// Sample: a grid of prior samples with seed, n, temperature, the prior (fitted by default) and
// an optional class label, from the model's own names. The seed used goes into the address.
import { api, pngImage } from "./api.js";
import { linked, remember, restore } from "./link.js";

const $ = (id) => document.getElementById(id);
let first = true; // the first grid uses the address's values

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
  remember({
    seed: body.seed, n: $("sample-n").value, temperature: $("sample-temperature").value,
    prior: $("sample-prior").value, label: $("sample-label").value,
  });
}

export function setupSample(onModelChange) {
  for (const [id, name] of [["sample-n", "n"], ["sample-temperature", "temperature"], ["sample-seed", "seed"]]) {
    restore(id, name);
  }
  $("sample-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sample().catch(() => {});
  });
  $("sample-again").addEventListener("click", () => sample(true).catch(() => {}));
  onModelChange((model) => {
    if (model.can_sample === false) return; // the panel is hidden (main.js)
    const labels = model.labels || model.digits || [];
    $("sample-label").replaceChildren(new Option("any", ""), ...labels.map((l) => new Option(l, l)));
    // The model's priors, its default first: "fitted" when the artifact has one.
    const priors = model.sample_priors || ["standard"];
    $("sample-prior").replaceChildren(...priors.map((p) => new Option(p, p)));
    if (first) {
      first = false;
      if (labels.includes(linked("label"))) $("sample-label").value = linked("label");
      if (priors.includes(linked("prior"))) $("sample-prior").value = linked("prior");
    }
    sample().catch(() => {});
  });
}
