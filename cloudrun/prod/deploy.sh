#!/usr/bin/env bash
# ERZEUGT aus matrix/umgebungen.yaml – nicht von Hand bearbeiten.
# Ändern: Matrix anpassen, dann `make generate`.
#
# Deploy der Stage Prod GCP (läuft in der CI).
# Aufruf: cloudrun/prod/deploy.sh [ZIEL ...]
#   ohne ZIEL: migrate web worker agenten-worker litellm
#   optional, nur wenn genannt: beat
# Wendet die Manifeste dieses Ordners an; envsubst ersetzt nur ${IMAGE_TAG} ${STABIL_IMAGE_TAG} ${REVISION_NEU} ${REVISION_STABIL}.
# Revisionsnamen: <dienst>-<Suffix aus dem Tag> (für jeden gültigen Docker-Tag zulässig).

set -euo pipefail
# gcloud schreibt sonst die Werte der Variablen in seine Logdatei
export CLOUDSDK_CORE_DISABLE_FILE_LOGGING=1

# Bricht ab, wenn eine benötigte CI-Variable fehlt oder leer ist.
benoetigt() {
  local name
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then echo "CI-Variable $name fehlt" >&2; exit 2; fi
  done
}

# Bricht ab, wenn ein Image-Tag kein gültiger Docker-Tag ist (bevor gcloud etwas ändert).
tag_gueltig() {
  local name
  for name in "$@"; do
    if [[ ! ${!name} =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
      echo "CI-Variable $name ist kein gültiger Docker-Tag (erlaubt: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})" >&2
      exit 2
    fi
  done
}

# nicht_oeffentlich ART NAME: entfernt allUsers und allAuthenticatedUsers als Aufrufer
# (roles/run.invoker), falls die Richtlinie sie enthält (remove schlägt sonst fehl).
nicht_oeffentlich() {
  local mitglieder mitglied
  mitglieder="$(gcloud run "$1" get-iam-policy "$2" --region europe-west3 --project rag-plattform-prod \
    --flatten 'bindings[].members' --filter 'bindings.role=roles/run.invoker' \
    --format 'value(bindings.members)')"
  for mitglied in allUsers allAuthenticatedUsers; do
    if grep -qx "$mitglied" <<<"$mitglieder"; then
      gcloud run "$1" remove-iam-policy-binding "$2" --member "$mitglied" --role roles/run.invoker --region europe-west3 --project rag-plattform-prod
      echo "Öffentlicher Aufrufer $mitglied von $2 entfernt" >&2
    fi
  done
}

# Setzt REVISION_SUFFIX: Revisionsname "$1-$REVISION_SUFFIX" für Docker-Tag $2
# (klein, . und _ → -, Bindestriche zusammengefasst; wenn dabei etwas verloren
# geht oder es zu lang wird: -<10 Hex FNV-1a-64 des Tags>). Gleiche Regel wie
# umgebungsmatrix/artifacts/revisions.py.
revision_suffix() {
  local LC_ALL=C dienst=$1 tag=$2
  if [[ ! $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    echo "Ungültiges Docker-Tag „$tag“ (erlaubt: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})" >&2
    return 2
  fi
  local budget=$(( 63 - ${#dienst} - 1 ))
  local s=${tag,,}
  s=${s//[._]/-}
  while [[ $s == *--* ]]; do s=${s//--/-}; done
  s=${s#-}; s=${s%-}
  if [[ $s == "$tag" && ${#s} -ge 1 && ${#s} -le $budget ]]; then
    REVISION_SUFFIX=$s
    return 0
  fi
  if (( budget < 10 )); then
    echo "Dienstname „$dienst“ ist zu lang für einen Revisionsnamen mit Prüfsumme" >&2
    return 2
  fi
  # FNV-1a-64 in zwei 32-Bit-Hälften (Primzahl 2^40 + 435), ohne Überlauf
  local hi=$((0xcbf29ce4)) lo=$((0x84222325)) i c p h
  for (( i = 0; i < ${#tag}; i++ )); do
    printf -v c '%d' "'${tag:i:1}"
    lo=$(( lo ^ c ))
    p=$(( lo * 435 ))
    hi=$(( (hi * 435 + (p >> 32) + (lo << 8)) & 0xffffffff ))
    lo=$(( p & 0xffffffff ))
  done
  printf -v h '%08x%08x' "$hi" "$lo"
  h=${h:0:10}
  local n=$(( budget - 11 ))
  if (( n < 0 )); then n=0; fi
  s=${s:0:n}
  s=${s%-}
  if [[ -n $s ]]; then REVISION_SUFFIX=$s-$h; else REVISION_SUFFIX=$h; fi
}

hier="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
arbeit="$(mktemp -d)"
trap 'rm -rf "$arbeit"' EXIT
# render DATEI DIENST: setzt MANIFEST auf eine Kopie mit eingesetzten Tags und Revisionsnamen.
render() {
  local REVISION_NEU= REVISION_STABIL=
  if [ -n "${IMAGE_TAG:-}" ]; then revision_suffix "$2" "${IMAGE_TAG}"; REVISION_NEU=$REVISION_SUFFIX; fi
  if [ -n "${STABIL_IMAGE_TAG:-}" ]; then revision_suffix "$2" "${STABIL_IMAGE_TAG}"; REVISION_STABIL=$REVISION_SUFFIX; fi
  REVISION_NEU="$REVISION_NEU" REVISION_STABIL="$REVISION_STABIL" envsubst '${IMAGE_TAG} ${STABIL_IMAGE_TAG} ${REVISION_NEU} ${REVISION_STABIL}' < "$hier/$1" > "$arbeit/$1"
  MANIFEST="$arbeit/$1"
}

standard=(migrate web worker agenten-worker litellm)
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
      tag_gueltig IMAGE_TAG
      render migrate-job.yaml migrate
      gcloud run jobs replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich jobs migrate
      gcloud run jobs execute migrate \
        --region europe-west3 \
        --project rag-plattform-prod \
        --wait
      ;;
    web)
      benoetigt IMAGE_TAG STABIL_IMAGE_TAG
      tag_gueltig IMAGE_TAG STABIL_IMAGE_TAG
      render web.yaml web
      gcloud run services replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      gcloud run services add-iam-policy-binding web \
        --member serviceAccount:service-104857600123@gcp-sa-iap.iam.gserviceaccount.com \
        --role roles/run.invoker \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich services web
      ;;
    worker)
      benoetigt IMAGE_TAG
      tag_gueltig IMAGE_TAG
      render worker.yaml worker
      gcloud run services replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich services worker
      ;;
    agenten-worker)
      benoetigt IMAGE_TAG
      tag_gueltig IMAGE_TAG
      render agenten-worker.yaml agenten-worker
      gcloud run services replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich services agenten-worker
      ;;
    beat)
      benoetigt IMAGE_TAG
      tag_gueltig IMAGE_TAG
      render beat.yaml beat
      gcloud run services replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich services beat
      ;;
    litellm)
      benoetigt IMAGE_TAG STABIL_IMAGE_TAG
      tag_gueltig IMAGE_TAG STABIL_IMAGE_TAG
      render litellm.yaml litellm
      gcloud run services replace "$MANIFEST" \
        --region europe-west3 \
        --project rag-plattform-prod
      gcloud run services add-iam-policy-binding litellm \
        --member serviceAccount:plattform-run@rag-plattform-prod.iam.gserviceaccount.com \
        --role roles/run.invoker \
        --region europe-west3 \
        --project rag-plattform-prod
      nicht_oeffentlich services litellm
      ;;
    *)
      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2
      exit 2
      ;;
  esac
  echo "✓ $ziel ausgerollt (Prod GCP)"
done
