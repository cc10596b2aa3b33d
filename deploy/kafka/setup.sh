#!/bin/sh
# Runs once in docker-compose.yml (service kafka-setup) after the brokers
# are up, as ration-admin: the Kafka users of the schema registry and of
# Kafka UI with only the ACLs they need, and the registry's topic with
# replication 3 and min.insync 2. Safe to run again: users and ACLs are
# set, not added twice, and the topic is created only if missing.
#
# ration's own users need nothing here: its roles log in as ration-admin
# (formatted into the cluster by start.sh), and `ration clients add NAME
# --worker --pipeline P` creates each worker's user and ACLs.
#
# Needs: KAFKA_BOOTSTRAP, KAFKA_ADMIN_PASSWORD,
# SCHEMA_REGISTRY_KAFKA_PASSWORD, KAFKA_UI_KAFKA_PASSWORD.
set -eu

: "${KAFKA_BOOTSTRAP:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${SCHEMA_REGISTRY_KAFKA_PASSWORD:?}" "${KAFKA_UI_KAFKA_PASSWORD:?}"
bin=/opt/kafka/bin
cfg=/tmp/admin.properties

umask 077
cat >"$cfg" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="ration-admin" password="$KAFKA_ADMIN_PASSWORD";
PROPS

scram() { # USER PASSWORD
  "$bin/kafka-configs.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$cfg" \
    --alter --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=$2]"
}
allow() { # PRINCIPAL RESOURCE... --operation OP...
  "$bin/kafka-acls.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$cfg" --add --allow-principal "$@"
}

scram schema-registry "$SCHEMA_REGISTRY_KAFKA_PASSWORD"
scram kafka-ui "$KAFKA_UI_KAFKA_PASSWORD"

# The schema registry keeps its schemas in the compacted topic _schemas and
# elects its leader through the group schema-registry.
"$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$cfg" \
  --create --if-not-exists --topic _schemas --partitions 1 --replication-factor 3 \
  --config cleanup.policy=compact --config min.insync.replicas=2
allow User:schema-registry --topic _schemas \
  --operation Read --operation Write --operation Describe --operation DescribeConfigs
allow User:schema-registry --group schema-registry --resource-pattern-type prefixed \
  --operation Read --operation Describe
allow User:schema-registry --topic __consumer_offsets --operation Describe

# Kafka UI looks and changes nothing (it also runs read-only): every topic's
# records and configs, every group's offsets, the brokers and their configs.
allow User:kafka-ui --topic '*' --operation Read --operation Describe --operation DescribeConfigs
allow User:kafka-ui --group '*' --operation Describe
allow User:kafka-ui --group kafka-ui --resource-pattern-type prefixed --operation Read
allow User:kafka-ui --cluster --operation Describe --operation DescribeConfigs

echo "kafka-setup: users schema-registry and kafka-ui and their ACLs are in place"
