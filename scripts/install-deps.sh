#!/usr/bin/env bash
# Installs what `make run` and `make test` need beyond Go, on Debian/Ubuntu:
# clickhouse-server (the embedded stack runs it as a child process), kcat
# (the tests' second, independent Kafka client) and zookeeper with a Java
# runtime (the ClickHouse cluster the cluster tests start). Does nothing
# when all are there already.
set -euo pipefail

missing=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/bin/clickhouse ] || missing+=(clickhouse-server clickhouse-client)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: please install ${missing[*]} (no apt-get here)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
# The package's postinst tries to start a system service; ration never uses
# it (it runs its own server under its data dir), so a refusal is harmless.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
