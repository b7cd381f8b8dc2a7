# VAE Latent Explorer: the web app and its shipped weights on CPU-only PyTorch (README: Deploy).
#
#   docker build -t vae-latent-explorer .
#   docker run --rm -p 8000:8000 vae-latent-explorer
#
# CUDA hosts: the same file with PyPI's CUDA build of torch (it brings its own CUDA libraries; the
# host needs the NVIDIA driver and container toolkit), run with --gpus all:
#   docker build -t vae-latent-explorer:cuda \
#     --build-arg TORCH_INDEX_URL=https://pypi.org/simple --build-arg TORCH_VARIANT=cuda .
#   docker run --rm --gpus all -p 8000:8000 vae-latent-explorer:cuda

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# Where pip looks for torch besides PyPI: PyTorch's CPU-only wheels (x86_64 and aarch64), whose
# +cpu local version outranks PyPI's CUDA build of the same release. Empty: PyPI alone.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# cpu: the build fails unless torch is a CPU-only build; cuda: unless it is a CUDA build.
ARG TORCH_VARIANT=cpu
# Local wheels (a folder or URL) for pip, which reads it from the environment.
ARG PIP_FIND_LINKS
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The runtime dependencies are pyproject.toml's own list (no test or training extras), installed
# before the app is copied so that editing the app reuses this layer. The venv gets no pip of its
# own; torch's C++ headers, test binaries and protoc, onnx's backend test data and onnxruntime's
# Python tooling (transformers, quantization, tools), which serving never uses, stay out (~75 MB).
COPY pyproject.toml deploy/torch_variant.py /tmp/build/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/build/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/build/requirements.txt \
 && python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --no-cache-dir \
      ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -r /tmp/build/requirements.txt \
 && /opt/venv/bin/python /tmp/build/torch_variant.py "$TORCH_VARIANT" \
 && site=$(/opt/venv/bin/python -c "import sysconfig; print(sysconfig.get_path('purelib'))") \
 && rm -rf "$site/torch/include" "$site/torch/test" "$site"/torch/bin/test_* "$site"/torch/bin/*Test \
      "$site"/torch/bin/protoc* "$site/onnx/backend/test" "$site/onnxruntime/transformers" \
      "$site/onnxruntime/quantization" "$site/onnxruntime/tools" /tmp/build
WORKDIR /app
# .dockerignore lets in only what the app runs (model/, server/, templates/, static/, weights/) and
# what the build reads (pyproject.toml, deploy/torch_variant.py); the files become root's, world-readable.
COPY . .
RUN python -m compileall -q model server && chmod -R a+rX,go-w /app

FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# The app's settings (README: Configuration); VAE_HOST listens on every interface of the container.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VAE_HOST=0.0.0.0 \
    VAE_PORT=8000 \
    VAE_WORKERS=1 \
    VAE_TORCH_THREADS=1 \
    VAE_WEIGHTS_DIR=/app/weights \
    VAE_DEVICE=auto
USER 10001:10001
EXPOSE 8000
# No curl in the image: Python's urllib asks /healthz, and any error or non-2xx status fails the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('VAE_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "server"]
