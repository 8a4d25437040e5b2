#!/usr/bin/env bash
# The command line as a user meets it: help, version, exit codes, error
# messages that name the file and the problem, and a short fit run whose
# outputs are complete.  Usage: run.sh path/to/hadron
set -uo pipefail
hadron=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@" >"$tmp/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/  | /' "$tmp/out"; fi
}
expect() { # description, expected exit code, text expected in the output, command...
  local what=$1 code=$2 text=$3; shift 3
  "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ "$rc" -eq "$code" ] && grep -qF -- "$text" "$tmp/out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what (exit $rc, wanted $code and '$text')"; sed 's/^/  | /' "$tmp/out"; fi
}

expect "version" 0 "hadron 0.1.0" "$hadron" --version
expect "top-level help lists commands" 0 "fit" "$hadron" --help
expect "no command is a usage error" 2 "usage: hadron" "$hadron"
expect "unknown command" 2 "unknown command 'nope'" "$hadron" nope
for cmd in demo fit info; do
  expect "$cmd --help" 0 "usage: hadron $cmd" "$hadron" "$cmd" --help
done
expect "bad number" 2 "--epochs: 'ten' is not a valid integer" "$hadron" fit --epochs ten
expect "unknown option" 2 "unknown option '--bogus'" "$hadron" fit --bogus
expect "bad layers" 2 "layers '3,x'" "$hadron" fit --layers 3,x
expect "bad activation" 2 "unknown activation 'swish'" "$hadron" fit --activation swish
expect "unwritable output" 1 "$tmp/file/sub" bash -c "touch '$tmp/file' && '$hadron' fit --epochs 1 --out '$tmp/file/sub'"

expect "short fit" 0 "x lower" "$hadron" fit --epochs 5 --print-every 5 --out "$tmp/fit"
for f in history.csv loss.gp model.safetensors; do check "fit wrote $f" test -s "$tmp/fit/$f"; done
check "history has a row per epoch" test "$(wc -l < "$tmp/fit/history.csv")" -eq 6
expect "info describes the model" 0 "mlp.dense0.weight" "$hadron" info --model "$tmp/fit/model.safetensors"

head -c 100 "$tmp/fit/model.safetensors" > "$tmp/cut.safetensors"
expect "truncated checkpoint refused with its name" 1 "cut.safetensors" "$hadron" info --model "$tmp/cut.safetensors"
expect "missing checkpoint" 1 "missing.safetensors" "$hadron" info --model "$tmp/missing.safetensors"
expect "info needs --model" 2 "--model FILE is required" "$hadron" info

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
