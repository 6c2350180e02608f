#!/usr/bin/env bash
# The action's last step: runs `$SHIPLOG_BIN` with the arguments the INPUT_* variables give.
#
# Each input is a value, never shell text: it becomes exactly one argument (`--reason=VALUE`, so
# a value that starts with a dash stays a value), positional values follow `--` (a deployment id
# cannot pass for an option), and `args` is split into arguments at line breaks only. The ledger
# is passed as SHIPLOG_DB, never on the command line, where a password in a URL would show.
set -euo pipefail
bin="${SHIPLOG_BIN:?SHIPLOG_BIN names the built shiplog}"

if [[ "${INPUT_COMMAND:-}" == *$'\n'* ]]; then
    echo "::error title=Shiplog::the command input is one line; put more arguments in args" >&2
    exit 64
fi
read -r -a words <<<"${INPUT_COMMAND:-}"
if ((${#words[@]} == 0 || ${#words[@]} > 2)); then
    echo "::error title=Shiplog::the command input must be one or two words (deploy, record begin, ...), got ${#words[@]}" >&2
    exit 64
fi
for word in "${words[@]}"; do
    if [[ ! "$word" =~ ^[a-z][a-z-]*$ ]]; then
        echo "::error title=Shiplog::the command input holds something other than a command name; put arguments in args" >&2
        exit 64
    fi
done
command="${words[*]}"

options=()
positionals=()
# option NAME VALUE: --NAME=VALUE when the value is not empty.
option() { if [ -n "$2" ]; then options+=("--$1=$2"); fi; }
# positional NAME VALUE: a required positional argument.
positional() {
    if [ -z "$2" ]; then
        echo "::error title=Shiplog::shiplog $command needs the $1 input" >&2
        exit 64
    fi
    positionals+=("$2")
}

case "$command" in
deploy)
    option config "${INPUT_CONFIG:-}"; option sha "${INPUT_SHA:-}"; option ref "${INPUT_REF:-}"; option env "${INPUT_ENVIRONMENT:-}" ;;
resume)
    option config "${INPUT_CONFIG:-}"; positional deployment-id "${INPUT_DEPLOYMENT_ID:-}" ;;
validate)
    option config "${INPUT_CONFIG:-}" ;;
"record begin")
    option env "${INPUT_ENVIRONMENT:-}"; option sha "${INPUT_SHA:-}"; option ref "${INPUT_REF:-}"
    option services "${INPUT_SERVICES:-}" ;;
"record phase")
    positional deployment-id "${INPUT_DEPLOYMENT_ID:-}"; positional phase "${INPUT_PHASE:-}"
    option status "${INPUT_STATUS:-}"; option reason "${INPUT_REASON:-}"; option log "${INPUT_LOG:-}" ;;
"record health")
    positional deployment-id "${INPUT_DEPLOYMENT_ID:-}"; positional check "${INPUT_CHECK:-}"
    option status "${INPUT_STATUS:-}"; option attempts "${INPUT_ATTEMPTS:-}"; option reason "${INPUT_REASON:-}"
    option log "${INPUT_LOG:-}" ;;
"record finish")
    positional deployment-id "${INPUT_DEPLOYMENT_ID:-}"; option status "${INPUT_STATUS:-}"
    option reason "${INPUT_REASON:-}"; option rollback-to "${INPUT_ROLLBACK_TO:-}" ;;
*)
    option env "${INPUT_ENVIRONMENT:-}" ;;
esac

extra=()
if [ -n "${INPUT_ARGS:-}" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        [ -n "$line" ] && extra+=("$line")
    done <<<"$INPUT_ARGS"
fi
if [ -n "${INPUT_DB:-}" ]; then export SHIPLOG_DB="$INPUT_DB"; fi

arguments=("${words[@]}" "${options[@]}" "${extra[@]}")
if ((${#positionals[@]})); then arguments+=(-- "${positionals[@]}"); fi
exec "$bin" "${arguments[@]}"
