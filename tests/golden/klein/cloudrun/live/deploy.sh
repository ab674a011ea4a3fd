#!/usr/bin/env bash
# ERZEUGT aus matrix/umgebungen.yaml – nicht von Hand bearbeiten.
# Ändern: Matrix anpassen, dann `make generate`.
#
# Deploy der Stage Live GCP (läuft in der CI).
# Aufruf: cloudrun/live/deploy.sh [ZIEL ...]
#   ohne ZIEL: migrate web worker agenten-worker beat
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

standard=(migrate web worker agenten-worker beat)
bekannt=(migrate web worker agenten-worker beat)
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
        --project klein-live
      gcloud run jobs execute migrate \
        --region europe-west3 \
        --project klein-live \
        --wait
      ;;
    web)
      benoetigt IMAGE_TAG STABIL_IMAGE_TAG
      gcloud run services replace "$(render web.yaml)" \
        --region europe-west3 \
        --project klein-live
      ;;
    worker)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render worker.yaml)" \
        --region europe-west3 \
        --project klein-live
      ;;
    agenten-worker)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render agenten-worker.yaml)" \
        --region europe-west3 \
        --project klein-live
      ;;
    beat)
      benoetigt IMAGE_TAG
      gcloud run services replace "$(render beat.yaml)" \
        --region europe-west3 \
        --project klein-live
      ;;
    *)
      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2
      exit 2
      ;;
  esac
  echo "✓ $ziel ausgerollt (Live GCP)"
done
