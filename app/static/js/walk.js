// Latent walk: a seamless animated loop through n samples of the model's default prior
// (GET /walk.webp or .gif). Same seed, same animation; the seed is kept in the address.
import { state } from "./api.js";
import { showAnimation } from "./animation.js";
import { newSeed, remember, restore } from "./link.js";

const $ = (id) => document.getElementById(id);

async function walk() {
  if ($("walk-seed").value === "") $("walk-seed").value = newSeed();
  const query = {
    seed: $("walk-seed").value, n: $("walk-n").value, steps: $("walk-steps").value,
    fps: $("walk-fps").value, scale: state.colour ? 2 : 4,
  };
  const format = $("walk-format").value;
  remember({ walk_seed: query.seed, walk_n: query.n, walk_steps: query.steps, walk_fps: query.fps, walk_format: format });
  await showAnimation("walk", "walk-download", `/walk.${format}`, { query });
}

export function setupWalk(onModelChange) {
  for (const name of ["seed", "n", "steps", "fps", "format"]) restore(`walk-${name}`, `walk_${name}`);
  $("walk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    walk().catch(() => {});
  });
  $("walk-again").addEventListener("click", () => {
    $("walk-seed").value = newSeed();
    walk().catch(() => {});
  });
  onModelChange((model) => {
    if (model.can_sample !== false) walk().catch(() => {}); // else the panel is hidden
  });
}
