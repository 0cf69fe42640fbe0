#!/usr/bin/env bash
# Coverage-guided fuzzing of the JSON-RPC layer with libFuzzer (swiftc -sanitize=fuzzer,address).
#   bash Fuzz/run.sh [SECONDS]     default 60; CI runs it after the tests
# Builds Sources/JSONRPC with Fuzz/JSONRPCFuzz.swift into .build/fuzz/jsonrpc, starts from the seed corpus in
# Fuzz/corpus/jsonrpc (new inputs that reach new code go to .build/fuzz/corpus, never into the repository), and
# fails with the crashing input (written to .build/fuzz/) if a property in JSONRPCFuzz.swift breaks.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out/corpus"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name JSONRPCFuzz \
    Sources/JSONRPC/*.swift Fuzz/JSONRPCFuzz.swift -o "$out/jsonrpc" 2> >(grep -v "Cannot export local symbol" >&2)
# Leak checking is off: Swift keeps pointers to indirect enum payloads with tag bits in their spare bits, which
# LeakSanitizer takes for leaks (the schemas, built once, were reported); memory growth is bounded by the RSS limit.
ASAN_OPTIONS=detect_leaks=0 "$out/jsonrpc" -detect_leaks=0 -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" Fuzz/corpus/jsonrpc
