#!/usr/bin/env bash
# Build the image, register the Flex templates, launch one run.
#
#   templates/flex.sh image                      # docker build + push IMAGE
#   templates/flex.sh build                      # both template specs -> gs://BUCKET/templates/
#   templates/flex.sh run RUN_ID [--param=...]   # launch translate-train (publishes LATEST)
#
# Needs: gcloud (authenticated), docker, and these variables:
#   PROJECT, REGION, BUCKET (no gs://), IMAGE (e.g. REGION-docker.pkg.dev/PROJECT/xlner/xlner:TAG)
# Optional: GPU (default type:nvidia-l4;count:1;install-nvidia-driver), MACHINE (g2-standard-8),
#   INPUT (default gs://$BUCKET/data/conll/*.conll), TARGET_LANGS. Values that contain commas
#   are passed with gcloud's ^~^ alternate delimiter.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?}"
GPU="${GPU:-type:nvidia-l4;count:1;install-nvidia-driver}"
MACHINE="${MACHINE:-g2-standard-8}"
SPECS="gs://${BUCKET}/templates"

case "${1:-}" in
  image)
    docker build -t "${IMAGE}" .
    docker push "${IMAGE}"
    ;;
  build)
    gcloud dataflow flex-template build "${SPECS}/translate_train.json" \
      --image "${IMAGE}" --sdk-language PYTHON \
      --metadata-file templates/translate_train.metadata.json \
      --env FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/xlner/templates/launch_run.py \
      --project "${PROJECT}"
    gcloud dataflow flex-template build "${SPECS}/evaluate.json" \
      --image "${IMAGE}" --sdk-language PYTHON \
      --metadata-file templates/evaluate.metadata.json \
      --env FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/xlner/templates/launch_evaluate.py \
      --project "${PROJECT}"
    ;;
  run)
    RUN_ID="${2:?run id, e.g. $(date -u +%Y-%m-%d)}"
    shift 2
    gcloud dataflow flex-template run "xlner-${RUN_ID//[^a-z0-9-]/-}" \
      --template-file-gcs-location "${SPECS}/translate_train.json" \
      --project "${PROJECT}" --region "${REGION}" \
      --worker-machine-type "${MACHINE}" \
      --additional-experiments use_runner_v2 \
      --parameters "sdk_container_image=${IMAGE}" \
      --parameters "dataflow_service_options=worker_accelerator=${GPU}" \
      --parameters "^~^input=${INPUT:-gs://${BUCKET}/data/conll/*.conll}" \
      --parameters "^~^target_langs=${TARGET_LANGS:-swh_Latn,yor_Latn,hau_Latn}" \
      --parameters "output=gs://${BUCKET}/corpus" \
      --parameters "translation_cache=gs://${BUCKET}/translation-cache" \
      --parameters "translation_model=facebook/nllb-200-3.3B" \
      --parameters "alignment_model=bert-base-multilingual-cased" \
      --parameters "accelerator=${GPU}" \
      --parameters "run_id=${RUN_ID}" \
      --parameters "publish=true" \
      "$@"
    ;;
  *)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
