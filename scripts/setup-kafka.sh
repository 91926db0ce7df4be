#!/usr/bin/env bash
# Resolve Apache Kafka (the broker the differential tests in tests/compat/test_oracle_*.py
# use as the oracle) into a Java classpath.
#
# Maven resolves tests/oracle/pom.xml (org.apache.kafka:kafka_2.13, pinned there, with its
# runtime dependencies and the log4j2 binding Kafka's distribution ships) into the default
# local repository ~/.m2, outside the clone, and writes the classpath to
#   ${RAFKA_CACHE_DIR:-$HOME/.cache/rafka}/kafka-oracle/classpath
# which tests/compat/oracle.py reads (or $KAFKA_ORACLE_CLASSPATH_FILE, if set).
#
# Idempotent and fast when cached: nothing runs when the pom and the JDK are those of the
# last successful resolve and every jar on the classpath is still on disk.
#
# Needs: a JDK 17+ (`java`, or $JAVA_HOME/bin/java) and Maven (`mvn`) with access to
# Maven Central.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/tests/oracle/pom.xml"
OUT_DIR="${RAFKA_CACHE_DIR:-$HOME/.cache/rafka}/kafka-oracle"
CLASSPATH_FILE="${KAFKA_ORACLE_CLASSPATH_FILE:-$OUT_DIR/classpath}"
STAMP="$CLASSPATH_FILE.sha256"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null || { echo "setup-kafka: no java (install a JDK 17+ or set JAVA_HOME)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "setup-kafka: no mvn (install Maven 3.6+)" >&2; exit 1; }

want_stamp="$( { "$JAVA" -version 2>&1; cat "$POM"; } | sha256sum | cut -d' ' -f1)"

all_jars_present() {
    local jar
    local -a jars
    IFS=':' read -r -a jars <"$CLASSPATH_FILE"
    ((${#jars[@]} > 0)) || return 1
    for jar in "${jars[@]}"; do
        [[ -f "$jar" ]] || return 1
    done
}

if [[ -s "$CLASSPATH_FILE" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] && all_jars_present; then
    echo "setup-kafka: $CLASSPATH_FILE is up to date"
    exit 0
fi

mkdir -p "$(dirname "$CLASSPATH_FILE")"
rm -f "$STAMP"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
echo "setup-kafka: resolving Apache Kafka $version with Maven (into ~/.m2)"
tmp="$CLASSPATH_FILE.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -q keeps the log short; on failure Maven's errors still go to the terminal.
mvn -q -B -Dstyle.color=never -f "$POM" dependency:build-classpath -Dmdep.outputFile="$tmp" -Dmdep.pathSeparator=:
[[ -s "$tmp" ]] || { echo "setup-kafka: Maven wrote no classpath" >&2; exit 1; }
mv "$tmp" "$CLASSPATH_FILE"
all_jars_present || { echo "setup-kafka: a jar on the classpath is missing" >&2; exit 1; }
# Fail here, not in the middle of the compat run, if the broker's main classes are absent.
"$JAVA" -cp "$(cat "$CLASSPATH_FILE")" kafka.tools.StorageTool random-uuid >/dev/null
echo "$want_stamp" >"$STAMP"
echo "setup-kafka: Apache Kafka $version classpath in $CLASSPATH_FILE ($(tr ':' '\n' <"$CLASSPATH_FILE" | wc -l) jars)"
