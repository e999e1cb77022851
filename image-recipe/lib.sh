# Shared by image-recipe/build.sh and its steps (sourced, not run).

# Runs one named step and logs its duration: `step <name> <function> [args…]`.
step() {
  local step_name=$1 step_start=$EPOCHREALTIME
  shift
  log "$step_name …"
  "$@"
  log "$step_name: done in $(elapsed "$step_start") s"
}

log() { printf '[image %s %s] %s\n' "$PLATFORM" "$(date +%T)" "$*" >&2; }

# Seconds since $1 (an $EPOCHREALTIME), one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# A short hash of files and strings: `key <file|dir|-s string>…`. Directories count by
# their files' paths and contents, so a renamed or edited file changes the key.
key() {
  {
    while [ $# -gt 0 ]; do
      if [ "$1" = -s ]; then printf 'string %s\n' "$2"; shift 2; continue; fi
      if [ -d "$1" ]; then
        (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
      else
        printf 'file %s ' "$(basename "$1")"; sha256sum <"$1"
      fi
      shift
    done
  } | sha256sum | cut -c1-16
}

# A byte count in MiB, rounded up.
mib() { echo $((($1 + 1048575) / 1048576)); }
