#!/usr/bin/env bash
# ERZEUGT aus matrix/umgebungen.yaml – nicht von Hand bearbeiten.
# Ändern: Matrix anpassen, dann `make generate`.
#
# Deploy der Stage Prod GCP (läuft in der CI).
# Aufruf: cloudrun/prod/deploy.sh [ZIEL ...]
#   ohne ZIEL: migrate web worker agenten-worker beat litellm
# Wendet die Manifeste dieses Ordners an; envsubst ersetzt nur ${IMAGE_TAG} ${STABIL_IMAGE_TAG}.

set -euo pipefail

# Bricht ab, wenn eine benötigte CI-Variable fehlt oder leer ist.
benoetigt() {
  local name
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then echo "CI-Variable $name fehlt" >&2; exit 2; fi
  done
}

hier="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
arbeit="$(mktemp -d)"
trap 'rm -rf "$arbeit"' EXIT
# Manifest mit eingesetzten Image-Tags; gibt den Pfad der Kopie aus.
render() {
  envsubst '${IMAGE_TAG} ${STABIL_IMAGE_TAG}' < "$hier/$1" > "$arbeit/$1"
  echo "$arbeit/$1"
}

standard=(migrate web worker agenten-worker beat litellm)
bekannt=(migrate web worker agenten-worker beat litellm)
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit 0
fi
ziele=("$@")
if [ ${#ziele[@]} -eq 0 ]; then ziele=("${standard[@]}"); fi

for ziel in "${ziele[@]}"; do
  case "$ziel" in
    migrate)
      benoetigt IMAGE_TAG
      gcloud run jobs replace "$(render migrate-job.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      gcloud run jobs execute migrate \
        --region europe-west3 \
        --project rag-plattform-prod \
        --wait
      ;;
    web)
      benoetigt IMAGE_TAG STABIL_IMAGE_TAG
      gcloud run services replace "$(render web.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      ;;
    worker)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render worker.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      ;;
    agenten-worker)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render agenten-worker.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      ;;
    beat)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render beat.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      ;;
    litellm)
      benoetigt IMAGE_TAG STABIL_IMAGE_TAG
      gcloud run services replace "$(render litellm.yaml)" \
        --region europe-west3 \
        --project rag-plattform-prod
      ;;
    *)
      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2
      exit 2
      ;;
  esac
  echo "✓ $ziel ausgerollt (Prod GCP)"
done
