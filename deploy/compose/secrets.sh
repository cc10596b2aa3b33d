#!/bin/sh
# Writes the secrets docker-compose.yml requires to FILE (default: .env in
# the current directory, which docker compose reads), each a fresh random
# value, readable by the owner only. It refuses to overwrite FILE: the
# Kafka passwords are formatted into the brokers' storage on their first
# start, so changing them later means kafka-configs.sh --alter as well.
#
#   deploy/compose/secrets.sh && docker compose up -d --build
set -eu

file=${1:-.env}
if [ -e "$file" ]; then
  echo "$file exists; not overwriting it" >&2
  exit 1
fi

secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

umask 077
{
  echo "# docker-compose.yml's secrets, made by deploy/compose/secrets.sh on $(date -u +%Y-%m-%d)."
  echo "# Kafka users: ration-admin (ration's roles), kafka-broker (between brokers),"
  echo "# controller (the KRaft quorum), schema-registry and kafka-ui."
  for v in KAFKA_ADMIN_PASSWORD KAFKA_BROKER_PASSWORD KAFKA_CONTROLLER_PASSWORD \
    SCHEMA_REGISTRY_KAFKA_PASSWORD KAFKA_UI_KAFKA_PASSWORD; do
    echo "$v=$(secret)"
  done
  echo "# ClickHouse users ration (ration's roles) and analyst (read-only)."
  echo "CLICKHOUSE_RATION_PASSWORD=$(secret)"
  echo "CLICKHOUSE_ANALYST_PASSWORD=$(secret)"
  echo "# Logins to Grafana and Kafka UI as admin."
  echo "GRAFANA_ADMIN_PASSWORD=$(secret)"
  echo "KAFKA_UI_PASSWORD=$(secret)"
  echo "# Signs points users' tokens (every API process needs the same)."
  echo "RATION_POINTS_SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  echo "# The workers' Kafka passwords: deploy/compose/register-workers.sh adds them."
} >"$file"
echo "wrote $file"
