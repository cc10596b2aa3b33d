#!/bin/sh
# Registers docker-compose.yml's workers with the running API and appends
# their Kafka passwords to FILE (default: .env), for
#
#   docker compose --profile workers up -d
#
# Each pipeline's workers share one client, `ration clients add PIPELINE
# --worker --pipeline PIPELINE`: the Kafka user worker-PIPELINE with only
# the ACLs its stages need (README, "Kafka users and ACLs"). A pipeline
# whose password FILE already holds is skipped; to change one, revoke the
# client (ration clients revoke PIPELINE), delete its line and run this
# again.
set -eu

file=${1:-.env}
[ -f "$file" ] || { echo "$file: no such file (deploy/compose/secrets.sh makes it)" >&2; exit 1; }

# The admin key the API created on its first start (distroless: no cat in
# the image, so copy it out as docker cp's tar stream).
api=$(docker compose ps -q api)
[ -n "$api" ] || { echo "the api service is not running: docker compose up -d first" >&2; exit 1; }
key=$(docker cp "$api:/home/nonroot/admin.key" - | tar -xO)

for p in dm receipts points; do
  var="WORKER_$(echo "$p" | tr a-z A-Z)_KAFKA_PASSWORD"
  if grep -q "^$var=" "$file"; then
    echo "$var is in $file already; skipping $p"
    continue
  fi
  out=$(docker compose exec -T -e RATION_API_KEY="$key" api \
    ration clients add "$p" --worker --pipeline "$p" --api http://127.0.0.1:8080)
  password=$(printf '%s\n' "$out" | sed -n 's/^password=//p')
  [ -n "$password" ] || { echo "registering $p printed no password:" >&2; echo "$out" >&2; exit 1; }
  echo "$var=$password" >>"$file"
  echo "registered worker-$p"
done
