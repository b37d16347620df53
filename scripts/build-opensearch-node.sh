#!/usr/bin/env bash
# Builds the test OpenSearch node (test/opensearch-node) when it is missing or out of date.
# Quick no-op when target/ is newer than the pom and the sources. Needs java (17+) and mvn.
# Usage: scripts/build-opensearch-node.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="$root/test/opensearch-node"
target="$module/target"
stamp="$target/.build-stamp"

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-opensearch-node: '$tool' not found on PATH; the OpenSearch test node needs Java 17+ and Maven" >&2
    exit 1
  fi
done

needs_build=0
if [[ "${1:-}" == "--force" ]]; then
  needs_build=1
elif [[ ! -d "$target/classes" || ! -d "$target/lib" || ! -f "$stamp" ]]; then
  needs_build=1
elif [[ -n "$(find "$module/pom.xml" "$module/src" -newer "$stamp" -print -quit)" ]]; then
  needs_build=1
fi

if [[ $needs_build -eq 0 ]]; then
  exit 0
fi

echo "build-opensearch-node: building $module (the first build downloads ~60 MB from Maven Central)" >&2
start=$(date +%s)
# A clean lib/ so that a version bump never leaves two OpenSearch versions on the classpath.
rm -rf "$target/lib" "$stamp"
# (stdout to stderr: Maven prints stray colour codes even in batch mode)
mvn -B -q -f "$module/pom.xml" package >&2
touch "$stamp"
echo "build-opensearch-node: done in $(( $(date +%s) - start )) s" >&2
