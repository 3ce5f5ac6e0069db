# vae-serve: the service, the artifact contract and the shipped weights; no training code, no tests.
#
#   docker build -t vae-serve .                                  # CUDA torch (the Linux default)
#   docker build -t vae-serve:cpu --build-arg TORCH_WHEEL=wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl .
#
# BASE_IMAGE must provide python3 (3.11), pip and venv: the official python image does.
ARG BASE_IMAGE=python:3.11.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch on its own, first: the heaviest layer, and the one that differs between CPU and CUDA.
# TORCH_WHEEL names a wheel inside the build context (CPU build); empty means PyPI's default
# torch==2.13.0, which on Linux is the CUDA build. TORCH_VARIANT=cpu (compose's CPU service)
# refuses to build without a wheel, so a CPU image never silently gets CUDA torch.
ARG TORCH_WHEEL=""
ARG TORCH_VARIANT="cuda"
COPY wheels/ /tmp/wheels/
RUN if [ -n "$TORCH_WHEEL" ]; then \
        pip install "/tmp/$TORCH_WHEEL"; \
    elif [ "$TORCH_VARIANT" = "cpu" ]; then \
        echo "TORCH_VARIANT=cpu needs TORCH_WHEEL: a CPU torch wheel inside the build context, e.g. wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl" >&2; \
        exit 1; \
    else \
        pip install torch==2.13.0; \
    fi \
    && rm -rf /tmp/wheels
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install -r /tmp/runtime.txt

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    MALLOC_ARENA_MAX=2 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VAE_HOST=0.0.0.0 \
    VAE_PORT=8000 \
    VAE_WEIGHTS=/srv/vae/weights
RUN groupadd --gid 10001 vae \
    && useradd --uid 10001 --gid vae --no-create-home --home-dir /srv/vae --shell /usr/sbin/nologin vae
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/vae
COPY --chown=root:root app/ ./app/
COPY --chown=root:root contract/ ./contract/
COPY --chown=root:root weights/ ./weights/
USER 10001:10001
EXPOSE 8000
# The readiness endpoint: 200 once every model is loaded and warmed up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
# vae-serve drains in-flight requests on SIGTERM and exits 0.
CMD ["python3", "-m", "app.cli"]
