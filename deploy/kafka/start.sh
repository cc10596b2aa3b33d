#!/bin/sh
# Starts one Kafka node of docker-compose.yml (the apache/kafka image, run
# as its entrypoint). The image's own start script formats the storage
# without SCRAM credentials, and with allow.everyone.if.no.acl.found=false
# nobody could then log in: the brokers talk to each other with SCRAM
# (kafka-broker) and ration's roles as ration-admin. So this script writes
# server.properties from the KAFKA_CFG_* variables (KAFKA_CFG_LOG_DIRS is
# log.dirs: "_" is ".", "__" is "_", "___" is "-", as the image does for
# KAFKA_*), formats the storage once with both users' credentials
# (kafka-storage format --add-scram, README "Kafka users and ACLs"), and
# starts the server.
#
# Needs: CLUSTER_ID (the same on every node), KAFKA_ADMIN_PASSWORD,
# KAFKA_BROKER_PASSWORD. Writes /tmp/admin.properties, the admin's client
# config, for the health check and for kafka-*.sh in the container.
set -eu

: "${CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_BROKER_PASSWORD:?}"
bin=/opt/kafka/bin
props=/tmp/server.properties

umask 077
env | sed -n 's/^KAFKA_CFG_\([A-Z0-9_]*\)=\(.*\)$/\1 \2/p' | while read -r key value; do
  key=$(printf '%s' "$key" | tr 'A-Z' 'a-z' | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')
  printf '%s=%s\n' "$key" "$value"
done >"$props"

cat >/tmp/admin.properties <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="ration-admin" password="$KAFKA_ADMIN_PASSWORD";
PROPS

# The credentials go into the cluster's bootstrap metadata; formatting an
# already formatted directory is skipped, so a restart changes nothing
# (change a password later with kafka-configs.sh --alter).
"$bin/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$props" \
  --add-scram "SCRAM-SHA-512=[name=ration-admin,password=$KAFKA_ADMIN_PASSWORD]" \
  --add-scram "SCRAM-SHA-512=[name=kafka-broker,password=$KAFKA_BROKER_PASSWORD]"

exec "$bin/kafka-server-start.sh" "$props"
