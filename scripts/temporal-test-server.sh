#!/usr/bin/env bash
# Temporal's time-skipping test server, for the workflow tests of timers (test/workflow/windows-workflow.test.ts).
# The SDK's TestWorkflowEnvironment.createTimeSkipping() downloads a native build of it from
# temporal.download, which CI and sandboxes without internet cannot reach; the same server is published
# on Maven Central (io.temporal:temporal-test-server, the Java original), reached through Maven like any
# package registry. Its dependency classpath is resolved once and cached in .tools/.
#
#   scripts/temporal-test-server.sh --fetch    resolve (download) it only, e.g. in a CI cache step
#   scripts/temporal-test-server.sh <port>     run it on 127.0.0.1:<port>; what createTimeSkipping's
#                                              `existing-path` executable is given (the port first)
# Needs java (17+) and mvn. GREENLIGHT_TEST_SERVER_CACHE moves the cache (default <repo>/.tools/temporal-test-server).
set -euo pipefail
VERSION="${GL_TEMPORAL_TEST_SERVER_VERSION:-1.31.0}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${GREENLIGHT_TEST_SERVER_CACHE:-$REPO/.tools/temporal-test-server}"
CLASSPATH_FILE="$CACHE/classpath-$VERSION.txt"
if [ ! -s "$CLASSPATH_FILE" ]; then
  command -v java >/dev/null && command -v mvn >/dev/null || { echo "temporal-test-server: needs java and mvn on PATH" >&2; exit 1; }
  mkdir -p "$CACHE"
  cat >"$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>greenlight</groupId><artifactId>temporal-test-server-runner</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>$VERSION</version></dependency>
  </dependencies>
</project>
POM
  # Written to a temporary file first: an interrupted resolve must not leave a half classpath cached.
  mvn -q -B -f "$CACHE/pom.xml" dependency:build-classpath -Dmdep.outputFile="$CLASSPATH_FILE.tmp" >"$CACHE/mvn.log" 2>&1 \
    || { echo "temporal-test-server: mvn could not resolve io.temporal:temporal-test-server:$VERSION (log: $CACHE/mvn.log)" >&2; exit 1; }
  mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
fi
[ "${1:-}" = "--fetch" ] && exit 0
[ -n "${1:-}" ] || { echo "usage: $0 <port> | --fetch" >&2; exit 2; }
# exec: the SDK stops the server by signalling the process it started.
exec java -cp "$(cat "$CLASSPATH_FILE")" io.temporal.testserver.TestServer "$@"
