#!/usr/bin/env bash
# Build and smoke-test the container for real, on a machine without Docker Hub access.
#   scripts/container-smoke.sh        (as root; CI runs it from .ci/run)
# 1 hadolint, 2 compose schema, 3 Kubernetes manifests, 4 build (CPU torch wheel),
# 5 run, wait for readiness, /sample (PNG decoded by Pillow) and /encode, 6 non-root user,
# 7 SIGTERM exits 0 within 10 s. A private dockerd runs for the duration and is stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
BASE_IMAGE=python:3.11.11-slim-bookworm      # the name the Dockerfile's FROM uses
CACHE=${VAE_SMOKE_CACHE:-/var/cache/vae-serve}  # the debootstrap folder is reused between runs
WORK=$(mktemp -d /tmp/vae-smoke.XXXXXX)
export DOCKER_HOST=unix://$WORK/docker.sock
step() { printf '\n== %s\n' "$*"; }

step "1. hadolint"
"$BIN/hadolint" --failure-threshold warning Dockerfile && echo "hadolint: clean"
step "2. compose file against the compose spec"
"$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
step "3. Kubernetes manifests"
"$BIN/kubernetes-validate" --strict deploy/deployment.yaml deploy/service.yaml deploy/hpa.yaml

step "4a. private Docker engine"
for tool in dockerd docker debootstrap; do
  command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null; break; }
done
dockerd --iptables=false --bridge=none --data-root "$WORK/data" --exec-root "$WORK/exec" \
  --pidfile "$WORK/dockerd.pid" -H "$DOCKER_HOST" >"$WORK/dockerd.log" 2>&1 &
DOCKERD=$!
cleanup() {
  docker rm -f vae-smoke >/dev/null 2>&1 || true
  kill "$DOCKERD" 2>/dev/null && wait "$DOCKERD" 2>/dev/null || true
  grep " $WORK/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
docker info --format 'engine {{.ServerVersion}}, storage {{.Driver}}'

step "4b. stand-in base image (debootstrap; Docker Hub is out of reach)"
ROOTFS=$CACHE/bookworm-python
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  mkdir -p "$CACHE"
  # The Debian archive this machine's apt already uses (deb822 .sources or sources.list).
  MIRROR=$(grep -rhoE '^(URIs:|deb)[[:space:]]+[^[:space:]]+' /etc/apt/sources.list \
    /etc/apt/sources.list.d 2>/dev/null | awk '{print $2}' | grep -m1 -E '/debian/?$' || true)
  [ -n "$MIRROR" ] || { echo "no Debian archive in this machine's apt sources" >&2; exit 1; }
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    bookworm "$ROOTFS.partial" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  rm -rf "$ROOTFS.partial/var/cache/apt/archives/"*.deb
  mv "$ROOTFS.partial" "$ROOTFS"
fi
# HTTPS from inside the build goes through this host's re-signing proxy: trust what it trusts.
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
tar -C "$ROOTFS" -c . | docker import - "$BASE_IMAGE" >/dev/null
echo "imported $BASE_IMAGE from $ROOTFS"

step "4c. build (CPU torch wheel through the build context)"
WHEEL=$(ls wheels/torch-2.13.0+cpu-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$WHEEL" ]; then
  "$PY" -m pip download --no-deps --quiet -d wheels/ torch==2.13.0
  WHEEL=$(ls wheels/torch-2.13.0+cpu-*.whl | head -n1)
fi
started=$(date +%s)
docker build --network host --build-arg TORCH_WHEEL="$WHEEL" -t vae-serve:cpu . >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; exit 1; }
echo "built vae-serve:cpu in $(( $(date +%s) - started )) s;" \
  "size $(docker image inspect vae-serve:cpu --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

step "5. run, readiness, /sample and /encode"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
docker run -d --name vae-smoke --network host -e VAE_PORT="$PORT" vae-serve:cpu >/dev/null
started=$(date +%s)
until curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
  [ $(( $(date +%s) - started )) -lt 90 ] || { docker logs vae-smoke; exit 1; }
  sleep 0.5
done
echo "ready in $(( $(date +%s) - started )) s"
curl -fsS -o "$WORK/sample.png" "http://127.0.0.1:$PORT/sample?n=16&seed=0&scale=2"
"$PY" -c "
from PIL import Image
image = Image.open('$WORK/sample.png'); image.load()
assert image.format == 'PNG' and image.mode == 'L' and image.size == (224, 224), image
print('sample: PNG', image.size, image.mode)"
curl -fsS -o "$WORK/digit.png" "http://127.0.0.1:$PORT/sample?seed=3"
curl -fsS -F "file=@$WORK/digit.png" "http://127.0.0.1:$PORT/encode" | "$PY" -c "
import json, sys
body = json.load(sys.stdin)
assert len(body['mean'][0]) == 32 and len(body['logvar'][0]) == 32, body
print('encode:', body['model'], 'latent of', len(body['mean'][0]))"
docker inspect vae-smoke --format 'health: {{.State.Health.Status}}' || true

step "6. not root"
uid=$(docker exec vae-smoke id -u)
echo "container user id: $uid"
[ "$uid" != "0" ]

step "7. SIGTERM stops it cleanly"
started=$(date +%s%N)
docker stop --time 10 vae-smoke >/dev/null
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
code=$(docker inspect vae-smoke --format '{{.State.ExitCode}}')
echo "exit code $code after ${elapsed_ms} ms"
[ "$code" = "0" ] && [ "$elapsed_ms" -lt 10000 ]
echo; echo "container smoke test: passed"
