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

# Removes directory trees of the build cache, such as an old Debian stage. mmdebstrap
# mounts /proc, /sys and /dev inside the tree it builds, and one that was killed leaves
# them mounted: a plain `rm -rf` would recurse into the host's /sys and /dev. So whatever
# is mounted under a tree is unmounted first, deepest first, and rm stays on the tree's
# own filesystem (it fails, rather than crossing, should a mount remain).
remove_trees() {
  local dir mnt
  for dir in "$@"; do
    [ -e "$dir" ] || continue
    dir=$(realpath "$dir")
    findmnt --raw --noheadings --output TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' |
      LC_ALL=C sort -r | while read -r mnt; do
        log "unmounting $mnt (left by an interrupted build)"
        umount "$mnt" || umount --lazy "$mnt"
      done
    rm -rf --one-file-system "$dir"
  done
}

# Holds the lock of <cache>/image for <name> until the script exits: two builds of one
# platform into one cache would share its stage and work directory (and the first would
# remove a stage the other is copying). A second build waits for the first.
lock_cache() {
  local file=$1/image/.lock-$2
  mkdir -p "$1/image"
  exec {cache_lock}>"$file"
  if ! flock --nonblock "$cache_lock"; then
    log "waiting for another build of $2 in $1 …"
    flock "$cache_lock"
  fi
}
