#!/usr/bin/env bash
# ERZEUGT aus matrix/umgebungen.yaml – nicht von Hand bearbeiten.
# Ändern: Matrix anpassen, dann `make generate`.
#
# Deploy der Stage Test GCP (läuft in der CI).
# Aufruf: cloudrun/test/deploy.sh [ZIEL ...]
#   ohne ZIEL: migrate web worker agenten-worker
#   optional, nur wenn genannt: beat
# --set-env-vars ERSETZT alle Variablen eines Dienstes: jeder Befehl
# enthält die vollständige Liste; Geheimnisse sind ${NAME}-Verweise auf CI-Variablen.
# env_vars wählt ein Trennzeichen, das in keinem Wert vorkommt: Kommas, =, Leerzeichen
# und $ in CI-Werten kommen unverändert an.

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
  mitglieder="$(gcloud run "$1" get-iam-policy "$2" --region europe-west3 --project klein-test \
    --flatten 'bindings[].members' --filter 'bindings.role=roles/run.invoker' \
    --format 'value(bindings.members)')"
  for mitglied in allUsers allAuthenticatedUsers; do
    if grep -qx "$mitglied" <<<"$mitglieder"; then
      gcloud run "$1" remove-iam-policy-binding "$2" --member "$mitglied" --role roles/run.invoker --region europe-west3 --project klein-test
      echo "Öffentlicher Aufrufer $mitglied von $2 entfernt" >&2
    fi
  done
}

# Setzt ENV_VARS für `--set-env-vars "$ENV_VARS"` aus NAME=WERT-Paaren, mit
# gcloud-Trennzeichen-Syntax (`gcloud topic escaping`): "^T^NAME=WERT" T … –
# T ist das erste Zeichen aus der Liste, das in keinem Paar vorkommt, so
# kommen Kommas, =, Leerzeichen, $, Anführungszeichen und Zeilenumbrüche in
# CI-Werten unverändert bei gcloud an. Direkt aufrufen, nicht in $(…).
env_vars() {
  local t paar frei
  for t in '|' '~' ';' '!' '*' '#' '@' '%' '+'; do
    frei=1
    for paar in "$@"; do
      case $paar in *"$t"*) frei=0; break ;; esac
    done
    if [ "$frei" = 1 ]; then
      local IFS="$t"
      ENV_VARS="^$t^$*"
      return 0
    fi
  done
  echo "Kein Trennzeichen für --set-env-vars frei: jedes von | ~ ; ! * # @ % + kommt in einem Wert vor." >&2
  echo "Betroffene Variablen: ${*%%=*} – einen Wert ändern oder Trennzeichen ergänzen." >&2
  return 2
}

standard=(migrate web worker agenten-worker)
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
      benoetigt DATABASE_URL IMAGE_TAG
      tag_gueltig IMAGE_TAG
      env_vars \
        "DATABASE_URL=${DATABASE_URL}"
      gcloud run jobs deploy migrate \
        --image "europe-west3-docker.pkg.dev/klein/images/web:${IMAGE_TAG}" \
        --region europe-west3 \
        --project klein-test \
        --service-account klein-run@klein-test.iam.gserviceaccount.com \
        --tasks 1 \
        --set-cloudsql-instances klein-test:europe-west3:klein-test-pg \
        --vpc-connector test-connector \
        --vpc-egress private-ranges-only \
        --command plattform-migrate \
        --set-env-vars "$ENV_VARS"
      nicht_oeffentlich jobs migrate
      gcloud run jobs execute migrate \
        --region europe-west3 \
        --project klein-test \
        --wait
      ;;
    web)
      benoetigt DATABASE_URL REDIS_URL IMAGE_TAG
      tag_gueltig IMAGE_TAG
      env_vars \
        "DATABASE_URL=${DATABASE_URL}" \
        "REDIS_URL=${REDIS_URL}" \
        AUTO_MIGRATE=false \
        LANGFUSE_SAMPLE_RATE=0.25 \
        'GRUSS=Grüße: '"'"'Hallo'"'"', Welt #1 $HOME'
      gcloud run deploy web \
        --image "europe-west3-docker.pkg.dev/klein/images/web:${IMAGE_TAG}" \
        --region europe-west3 \
        --project klein-test \
        --service-account klein-run@klein-test.iam.gserviceaccount.com \
        --ingress all \
        --no-allow-unauthenticated \
        --min-instances 0 \
        --max-instances 3 \
        --port 8000 \
        --set-cloudsql-instances klein-test:europe-west3:klein-test-pg \
        --vpc-connector test-connector \
        --vpc-egress private-ranges-only \
        --command plattform-web \
        --set-env-vars "$ENV_VARS"
      nicht_oeffentlich services web
      ;;
    worker)
      benoetigt DATABASE_URL REDIS_URL IMAGE_TAG
      tag_gueltig IMAGE_TAG
      env_vars \
        "DATABASE_URL=${DATABASE_URL}" \
        "REDIS_URL=${REDIS_URL}" \
        LANGFUSE_SAMPLE_RATE=0.25
      gcloud run deploy worker \
        --image "europe-west3-docker.pkg.dev/klein/images/worker:${IMAGE_TAG}" \
        --region europe-west3 \
        --project klein-test \
        --service-account klein-run@klein-test.iam.gserviceaccount.com \
        --ingress all \
        --no-allow-unauthenticated \
        --min-instances 0 \
        --max-instances 3 \
        --no-cpu-throttling \
        --port 8080 \
        --set-cloudsql-instances klein-test:europe-west3:klein-test-pg \
        --vpc-connector test-connector \
        --vpc-egress private-ranges-only \
        --command plattform-health \
        --args=--,celery,-A,plattform.worker,worker,--queues,ingestion.v2,--concurrency,3 \
        --set-env-vars "$ENV_VARS"
      nicht_oeffentlich services worker
      ;;
    agenten-worker)
      benoetigt DATABASE_URL REDIS_URL IMAGE_TAG
      tag_gueltig IMAGE_TAG
      env_vars \
        "DATABASE_URL=${DATABASE_URL}" \
        "REDIS_URL=${REDIS_URL}" \
        LANGFUSE_SAMPLE_RATE=0.25
      gcloud run deploy agenten-worker \
        --image "europe-west3-docker.pkg.dev/klein/images/worker:${IMAGE_TAG}" \
        --region europe-west3 \
        --project klein-test \
        --service-account klein-run@klein-test.iam.gserviceaccount.com \
        --ingress all \
        --no-allow-unauthenticated \
        --min-instances 0 \
        --max-instances 2 \
        --no-cpu-throttling \
        --port 8080 \
        --set-cloudsql-instances klein-test:europe-west3:klein-test-pg \
        --vpc-connector test-connector \
        --vpc-egress private-ranges-only \
        --command plattform-health \
        --args=--,celery,-A,plattform.worker,worker,--queues,agents,--concurrency,3 \
        --set-env-vars "$ENV_VARS"
      nicht_oeffentlich services agenten-worker
      ;;
    beat)
      benoetigt DATABASE_URL REDIS_URL IMAGE_TAG
      tag_gueltig IMAGE_TAG
      env_vars \
        "DATABASE_URL=${DATABASE_URL}" \
        "REDIS_URL=${REDIS_URL}"
      gcloud run deploy beat \
        --image "europe-west3-docker.pkg.dev/klein/images/worker:${IMAGE_TAG}" \
        --region europe-west3 \
        --project klein-test \
        --service-account klein-run@klein-test.iam.gserviceaccount.com \
        --ingress all \
        --no-allow-unauthenticated \
        --min-instances 0 \
        --max-instances 1 \
        --no-cpu-throttling \
        --port 8080 \
        --set-cloudsql-instances klein-test:europe-west3:klein-test-pg \
        --vpc-connector test-connector \
        --vpc-egress private-ranges-only \
        --command plattform-health \
        --args=--,celery,-A,plattform.worker,beat \
        --set-env-vars "$ENV_VARS"
      nicht_oeffentlich services beat
      ;;
    *)
      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2
      exit 2
      ;;
  esac
  echo "✓ $ziel ausgerollt (Test GCP)"
done
