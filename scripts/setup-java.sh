#!/usr/bin/env bash
# Build the Java compat programs and resolve Apache Kafka's command-line tools, for
# tests/compat/test_java_client.py, test_streams.py and test_kafka_java_tools.py.
#
#   tests/clients/java        -> target/rafka-java-compat.jar + target/classpath.txt
#   tests/clients/streams     -> target/rafka-streams-compat.jar + target/classpath.txt
#   tests/clients/kafka-tools -> target/classpath.txt (kafka-tools, kafka_2.13 and deps)
#
# Idempotent and fast when nothing changed: each project is rebuilt only when its
# pom.xml/sources (or the JDK/Maven) differ from the stamp of the last successful build,
# or a jar on its classpath has gone from ~/.m2. Maven's repository stays at its default
# (~/.m2, outside the clone); once filled, the builds also work with `mvn -o`.
#
# Needs a JDK (17+) and Maven 3.8+ on PATH (or JAVA_HOME / MVN set), and access to Maven
# Central on the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MVN="${MVN:-mvn}"

command -v "$MVN" >/dev/null || { echo "setup-java: $MVN (Maven) not found" >&2; exit 1; }
if [[ -n "${JAVA_HOME:-}" ]]; then
    JAVA="$JAVA_HOME/bin/java"
else
    JAVA="$(command -v java || true)"
fi
[[ -n "$JAVA" && -x "$JAVA" ]] || { echo "setup-java: java not found (set JAVA_HOME)" >&2; exit 1; }

# (grep reads all its input: `| head -1` could SIGPIPE mvn, which pipefail reports.)
toolchain="$("$JAVA" -version 2>&1 | grep -o 'version "[^"]*"'; "$MVN" -B -v 2>/dev/null | grep -o 'Apache Maven [0-9.]*')"

# What a project's build depends on: the toolchain, its pom and its sources.
project_hash() {
    local dir="$1"
    {
        echo "$toolchain"
        cd "$dir"
        find . -path ./target -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

# Every jar the last build listed still exists (a cleaned ~/.m2 forces a rebuild).
classpath_present() {
    local cp="$1/target/classpath.txt" jar
    [[ -s "$cp" ]] || return 1
    while IFS= read -r -d: jar || [[ -n "$jar" ]]; do
        jar="${jar%$'\n'}"
        [[ -z "$jar" || -f "$jar" ]] || return 1
    done <"$cp"
}

build() {
    local name="$1" dir="$ROOT/$2" artifact="$3"
    local stamp="$dir/target/.rafka-build.sha256" want
    want="$(project_hash "$dir")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && classpath_present "$dir" \
        && [[ -z "$artifact" || -f "$dir/target/$artifact" ]]; then
        echo "setup-java: $name is up to date"
        return
    fi
    echo "setup-java: building $name ($2)"
    rm -f "$stamp"
    local log
    log="$(mktemp)"
    if ! (cd "$dir" && "$MVN" -q -B -Dstyle.color=never dependency:go-offline package -DskipTests) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "setup-java: building $name failed" >&2
        exit 1
    fi
    rm -f "$log"
    classpath_present "$dir" || { echo "setup-java: $name: no usable target/classpath.txt" >&2; exit 1; }
    echo "$want" >"$stamp"
}

build "the Java client program" tests/clients/java rafka-java-compat.jar
build "the Kafka Streams application" tests/clients/streams rafka-streams-compat.jar
build "Kafka's command-line tools" tests/clients/kafka-tools ""
