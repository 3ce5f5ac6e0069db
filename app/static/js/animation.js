// Shows an animation (GIF or lossless WebP) fetched through the API, with a download link.
import { api } from "./api.js";

// GET `path` (or POST `json` to it) and show the answer in `imageId`, linked from `linkId`.
export async function showAnimation(imageId, linkId, path, { query = {}, json } = {}) {
  const blob = await api(path, json === undefined ? { query } : { method: "POST", query, json });
  const image = document.getElementById(imageId);
  const link = document.getElementById(linkId);
  if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(blob);
  link.href = image.src;
  link.download = path.slice(1).replace("/", "-");
  link.hidden = false;
}

export function hideAnimation(imageId, linkId) {
  document.getElementById(imageId).removeAttribute("src");
  document.getElementById(linkId).hidden = true;
}
