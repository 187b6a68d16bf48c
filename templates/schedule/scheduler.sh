#!/usr/bin/env bash
# Deploy the workflow and a Cloud Scheduler job that runs it every Monday at 03:00 UTC.
# Variables: PROJECT, REGION, BUCKET, IMAGE, INPUT (gs:// glob), TARGET_LANGS, and
# SA (service account allowed to run workflows and launch Dataflow jobs).
set -euo pipefail
cd "$(dirname "$0")"
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?}" "${INPUT:?}" "${TARGET_LANGS:?}" "${SA:?}"
gcloud workflows deploy xlner-regenerate --project "${PROJECT}" --location "${REGION}" \
  --source workflow.yaml --service-account "${SA}"
ARGS=$(printf '{"region":"%s","bucket":"%s","image":"%s","input":"%s","target_langs":"%s"}' \
  "${REGION}" "${BUCKET}" "${IMAGE}" "${INPUT}" "${TARGET_LANGS}")
gcloud scheduler jobs create http xlner-regenerate-weekly --project "${PROJECT}" \
  --location "${REGION}" --schedule "0 3 * * 1" --time-zone "Etc/UTC" \
  --uri "https://workflowexecutions.googleapis.com/v1/projects/${PROJECT}/locations/${REGION}/workflows/xlner-regenerate/executions" \
  --http-method POST --oauth-service-account-email "${SA}" \
  --message-body "$(printf '{"argument": %s}' "$(printf '%s' "${ARGS}" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')")"
