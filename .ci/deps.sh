#!/usr/bin/env bash
# .ci/deps.sh: installs vindex's external dependencies (run by `make deps`).
#
# Idempotent: every part is checked first and only what is missing is installed, so a
# second run takes a few seconds. `apt-get update` runs at most once, and only when a
# Debian package (or pgvector's source) is actually missing. Versions are pinned below.
# Recipes: docs in ../shared/docs/dependencies.md. Output: one line per part, then
# "deps: done in N s". Details of every command go to .deps/deps.log.
#
# Never stops, restarts or reconfigures a running PostgreSQL and never creates a cluster:
# for pgvector only the extension files are installed.
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------------
PG_MAJOR=15
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
PGVECTOR_VERSION=0.8.0
PGVECTOR_SUITE=trixie # Debian suite whose source package is pgvector $PGVECTOR_VERSION
DAGU_VERSION=1.30.2
DAGU_NPM=@dagu-org/dagu-linux-x64
DAGU_SHA256=3eb94cd06c8dfdf5591f209834ded1f3549a3d764e89baceb2b34b1f62f03018
ORT_VERSION=1.24.3
ORT_NPM=onnxruntime-node
ORT_TAR_GLOB='package/bin/napi-v6/linux/x64/libonnxruntime.so.1*'
ORT_SIZE=35164376
ORT_SHA256=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682
# GraphiQL's browser build and the React it runs on, served by vindex at /graphiql.
GRAPHIQL_VERSION=3.8.3
REACT_VERSION=18.3.1

# Debian parts (bookworm): name | packages | package whose version is shown | version regex.
APT_PARTS=(ffmpeg "postgresql-$PG_MAJOR" build-essential tesseract pocketsphinx espeak-ng chromium)
declare -A APT_PKGS=(
  [ffmpeg]="ffmpeg"
  [postgresql-$PG_MAJOR]="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR"
  [build-essential]="build-essential"
  [tesseract]="tesseract-ocr tesseract-ocr-eng"
  [pocketsphinx]="pocketsphinx pocketsphinx-en-us"
  [espeak-ng]="espeak-ng"
  [chromium]="chromium chromium-driver"
)
declare -A APT_VERSION_RE=(
  [ffmpeg]='^7:5\.1\.'
  [postgresql-$PG_MAJOR]="^$PG_MAJOR\\."
  [build-essential]='^12\.'
  [tesseract]='^5\.3\.'
  [pocketsphinx]='^0\.8\+5prealpha'
  [espeak-ng]='^1\.51'
  [chromium]='.' # security updates move chromium's major version within bookworm
)

# ---- paths, log, lock --------------------------------------------------------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEPS_DIR="$ROOT/.deps"
DAGU_BIN="$DEPS_DIR/bin/dagu"
ORT_LIB="$DEPS_DIR/lib/libonnxruntime.so.1"
GRAPHIQL_DIR="$DEPS_DIR/graphiql"
LOG="$DEPS_DIR/deps.log"
SRC_ENTRY="/etc/apt/sources.list.d/vindex-$PGVECTOR_SUITE-src.sources"
CLUSTER_SNIPPET="/etc/postgresql-common/createcluster.d/zz-vindex-deps-no-main-cluster.conf"
export DEBIAN_FRONTEND=noninteractive
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

mkdir -p "$DEPS_DIR/bin" "$DEPS_DIR/lib"
exec 9>>"$DEPS_DIR/.lock"
if ! flock -n 9; then
  echo "deps: waiting for another run (lock $DEPS_DIR/.lock)" >&2
  flock 9
fi
: >"$LOG"

SCRATCH=()
cleanup() {
  local d
  for d in "${SCRATCH[@]+"${SCRATCH[@]}"}"; do rm -rf -- "$d"; done
  if [[ -n "${CLUSTER_SNIPPET_CREATED:-}" ]]; then remove_cluster_snippet || true; fi
}
remove_cluster_snippet() {
  as_root rm -f "$CLUSTER_SNIPPET"
  as_root rmdir --ignore-fail-on-non-empty "$(dirname "$CLUSTER_SNIPPET")"
  CLUSTER_SNIPPET_CREATED=""
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >>"$LOG"; }
say() { printf 'deps: %s\n' "$*"; }
die() {
  printf 'deps: %s ... FAILED\n' "$1" >&2
  shift
  [[ $# -gt 0 ]] && printf 'deps:   %s\n' "$@" >&2
  printf 'deps:   last lines of %s:\n' "$LOG" >&2
  tail -n 25 "$LOG" | sed 's/^/    /' >&2
  exit 1
}
# run CMD...: runs a command with its output in the log.
run() { log "+ $*"; "$@" >>"$LOG" 2>&1; }
# retry CMD...: run, and once more after a pause if it fails (network time-outs).
retry() { run "$@" || { log "(failed, retrying once in 5 s)"; sleep 5; run "$@"; }; }
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo -n "$@"
  else echo "deps: root (or sudo) needed for: $*" >&2; return 1; fi
}
# new_scratch: sets TMPD to a new scratch directory, removed on exit (not in a subshell!).
new_scratch() { TMPD="$(mktemp -d "${TMPDIR:-/tmp}/vindex-deps.XXXXXX")"; SCRATCH+=("$TMPD"); }
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o Acquire::http::Timeout=60)

# ---- checks (no side effects) --------------------------------------------------------
declare -A PKG_OK=()
# shellcheck disable=SC2046 # the package lists are meant to be split into words
while read -r pkg status; do
  [[ "$status" == installed ]] && PKG_OK[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $(printf '%s ' "${APT_PKGS[@]}") 2>/dev/null || true)

MISSING=()
declare -A PART_MISSING=()
for part in "${APT_PARTS[@]}"; do
  for pkg in ${APT_PKGS[$part]}; do
    if [[ -z "${PKG_OK[$pkg]:-}" ]]; then MISSING+=("$pkg"); PART_MISSING[$part]=1; fi
  done
done
NPM_MISSING=""
if ! command -v npm >/dev/null; then MISSING+=(npm); NPM_MISSING=1; fi

pgvector_present() {
  [[ -x "$PG_CONFIG" ]] || return 1
  local share lib
  share="$("$PG_CONFIG" --sharedir)" && lib="$("$PG_CONFIG" --pkglibdir)" || return 1
  grep -Eq "^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'${PGVECTOR_VERSION//./\\.}'" \
    "$share/extension/vector.control" 2>/dev/null &&
    [[ -f "$share/extension/vector--$PGVECTOR_VERSION.sql" && -f "$lib/vector.so" ]]
}
NEED_PGVECTOR=""
pgvector_present || NEED_PGVECTOR=1

# ---- apt: one update (if needed), one install of exactly the missing packages ----------

# The bookworm URI of the machine's own Debian mirror (deb822 debian.sources, else sources.list).
debian_uri() {
  local f=/etc/apt/sources.list.d/debian.sources uri=""
  if [[ -f $f ]]; then
    uri="$(awk '
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { if (deb && suite && uri != "") { print uri; exit } deb = suite = 0; uri = ""; next }
      tolower($1) == "types:"  { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite = 1 }
      tolower($1) == "uris:"   { uri = $2 }
      END { if (deb && suite && uri != "") print uri }' "$f" | head -n1)"
  fi
  if [[ -z $uri && -f /etc/apt/sources.list ]]; then
    uri="$(sed -E 's/\[[^]]*\]//' /etc/apt/sources.list |
      awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')"
  fi
  [[ -n $uri ]] || return 1
  printf '%s' "$uri"
}
debian_keyring() {
  local f=/etc/apt/sources.list.d/debian.sources k=""
  [[ -f $f ]] && k="$(awk 'tolower($1) == "signed-by:" && $2 ~ /^\// { print $2; exit }' "$f")"
  [[ -n $k ]] || k=/usr/share/keyrings/debian-archive-keyring.gpg
  printf '%s' "$k"
}

NEED_UPDATE=""
[[ ${#MISSING[@]} -gt 0 ]] && NEED_UPDATE=1
if [[ -n $NEED_PGVECTOR ]]; then
  # A deb-src entry adds no binary packages, so it cannot upgrade anything.
  uri="$(debian_uri)" || die "pgvector $PGVECTOR_VERSION" "no bookworm entry found in /etc/apt/sources.list.d/debian.sources"
  entry="$(printf '# Added by vindex .ci/deps.sh: Debian source of pgvector %s (no binary packages).\nTypes: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
    "$PGVECTOR_VERSION" "$uri" "$PGVECTOR_SUITE" "$(debian_keyring)")"
  if [[ ! -f $SRC_ENTRY || "$(cat "$SRC_ENTRY")" != "$entry" ]]; then
    log "writing $SRC_ENTRY"
    printf '%s\n' "$entry" | as_root tee "$SRC_ENTRY" >/dev/null || die "pgvector $PGVECTOR_VERSION" "cannot write $SRC_ENTRY"
    NEED_UPDATE=1
  fi
  compgen -G "/var/lib/apt/lists/*_dists_${PGVECTOR_SUITE}_main_source_Sources*" >/dev/null || NEED_UPDATE=1
fi

if [[ -n $NEED_UPDATE ]]; then
  retry as_root apt-get "${apt_opts[@]}" update || die "apt-get update"
fi

if [[ ${#MISSING[@]} -gt 0 ]]; then
  install_args=()
  for pkg in "${MISSING[@]}"; do
    # PostgreSQL may already be installed (and running): take the server headers of the
    # very same version when the archive still has it, so nothing of the server changes.
    if [[ $pkg == "postgresql-server-dev-$PG_MAJOR" && -n "${PKG_OK[postgresql-$PG_MAJOR]:-}" ]]; then
      v="$(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR")"
      if apt-cache madison "$pkg" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$v"; then
        pkg="$pkg=$v"
      fi
    fi
    install_args+=("$pkg")
  done
  # Never upgrade the PostgreSQL server as a side effect (its postinst would restart it).
  sim="$(as_root apt-get "${apt_opts[@]}" install -s -y --no-install-recommends "${install_args[@]}" 2>&1)" ||
    { log "$sim"; die "apt-get install" "simulation failed for: ${install_args[*]}"; }
  log "$sim"
  if grep -Eq "^Inst postgresql-$PG_MAJOR \[" <<<"$sim"; then
    die "apt-get install" "installing ${install_args[*]} would upgrade postgresql-$PG_MAJOR; refusing"
  fi
  # On a machine without PostgreSQL: install the binaries only, create no cluster.
  if [[ -z "${PKG_OK[postgresql-$PG_MAJOR]:-}" && ! -e $CLUSTER_SNIPPET ]]; then
    as_root mkdir -p "$(dirname "$CLUSTER_SNIPPET")"
    printf '# temporary, vindex .ci/deps.sh\ncreate_main_cluster = false\n' | as_root tee "$CLUSTER_SNIPPET" >/dev/null
    CLUSTER_SNIPPET_CREATED=1
  fi
  retry as_root apt-get "${apt_opts[@]}" install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${install_args[@]}" ||
    die "apt-get install" "packages: ${install_args[*]}"
  if [[ -n "${CLUSTER_SNIPPET_CREATED:-}" ]]; then remove_cluster_snippet; fi
fi

# ---- verify the Debian parts (each tool must run) ------------------------------------
check_tool() { # part, cmd...: the command must succeed (output to the log)
  local part=$1; shift
  run "$@" || die "$part" "does not run: $*"
}
verify_apt_part() {
  local part=$1
  case $part in
    ffmpeg)
      check_tool "$part" ffmpeg -hide_banner -version
      check_tool "$part" ffprobe -hide_banner -version ;;
    "postgresql-$PG_MAJOR")
      check_tool "$part" "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version
      check_tool "$part" "$PG_CONFIG" --version
      [[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ]] || die "$part" "server headers missing" ;;
    build-essential)
      check_tool "$part" gcc --version
      check_tool "$part" make --version
      check_tool "$part" dpkg-source --version ;;
    tesseract)
      check_tool "$part" tesseract --version
      tesseract --list-langs 2>>"$LOG" | grep -qx eng || die "$part" "language 'eng' missing" ;;
    pocketsphinx)
      command -v pocketsphinx_continuous >/dev/null || die "$part" "pocketsphinx_continuous not found"
      [[ -f /usr/share/pocketsphinx/model/en-us/en-us.lm.bin && -d /usr/share/pocketsphinx/model/en-us/en-us ]] ||
        die "$part" "en-us model missing"
      # Loads the default en-us model and decodes an empty input.
      check_tool "$part" pocketsphinx_continuous -infile /dev/null -logfn /dev/null ;;
    espeak-ng)
      check_tool "$part" espeak-ng --version ;;
    chromium)
      check_tool "$part" chromium --version
      check_tool "$part" chromedriver --version ;;
  esac
}
for part in "${APT_PARTS[@]}"; do
  main_pkg="${APT_PKGS[$part]%% *}"
  v="$(dpkg-query -W -f='${Version}' "$main_pkg" 2>/dev/null)" || die "$part" "package $main_pkg not installed"
  for pkg in ${APT_PKGS[$part]}; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] || die "$part" "package $pkg not installed"
  done
  [[ $v =~ ${APT_VERSION_RE[$part]} ]] || die "$part" "unexpected version $v of $main_pkg (want ${APT_VERSION_RE[$part]})"
  verify_apt_part "$part"
  if [[ -n "${PART_MISSING[$part]:-}" ]]; then say "$part $v ... installed"; else say "$part $v ... already present"; fi
done

command -v npm >/dev/null || die npm "npm not found"
npm_v="$(npm --version 2>>"$LOG")" || die npm "npm does not run"
if [[ -n $NPM_MISSING ]]; then say "npm $npm_v ... installed"; else say "npm $npm_v ... already present"; fi

# ---- pgvector: Debian's trixie source, built against PostgreSQL 15 ----------------------
if [[ -z $NEED_PGVECTOR ]]; then
  say "pgvector $PGVECTOR_VERSION ... already present"
else
  part="pgvector $PGVECTOR_VERSION"
  # Never overwrite files of a packaged pgvector (e.g. from apt.postgresql.org).
  if owner="$(dpkg -S "$("$PG_CONFIG" --sharedir)/extension/vector.control" 2>/dev/null)"; then
    die "$part" "vector.control belongs to package ${owner%%:*}, not $PGVECTOR_VERSION; remove that package first"
  fi
  new_scratch
  src=$TMPD
  # apt downloads as _apt: the directory must be writable for it.
  if [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$src"; fi
  (cd "$src" && retry apt-get "${apt_opts[@]}" source --only-source "pgvector/$PGVECTOR_SUITE") ||
    die "$part" "apt-get source --only-source pgvector/$PGVECTOR_SUITE failed"
  dir="$src/pgvector-$PGVECTOR_VERSION"
  [[ -d $dir ]] || die "$part" "$PGVECTOR_SUITE's source is not pgvector $PGVECTOR_VERSION: $(cd "$src" && echo *)"
  # OPTFLAGS="" avoids -march=native: the build runs on any x86-64.
  run make -C "$dir" -j"$(nproc)" OPTFLAGS="" PG_CONFIG="$PG_CONFIG" || die "$part" "build failed"
  run as_root make -C "$dir" install OPTFLAGS="" PG_CONFIG="$PG_CONFIG" || die "$part" "make install failed"
  pgvector_present || die "$part" "installed files not found after make install"
  say "$part ... installed"
fi

# ---- npm tarballs: Dagu and ONNX Runtime ---------------------------------------------
# npm_fetch SPEC DIR: `npm pack` SPEC into DIR (npm's default cache), prints the tarball path.
npm_fetch() {
  local spec=$1 dir=$2 tgz
  (cd "$dir" && retry npm pack --loglevel=error "$spec") || return 1
  for tgz in "$dir"/*.tgz; do
    [[ -f $tgz ]] && { printf '%s' "$tgz"; return 0; }
  done
  return 1
}
sha256_of() { sha256sum "$1" | awk '{ print $1 }'; }

dagu_present() { [[ -x $DAGU_BIN ]] && [[ "$("$DAGU_BIN" version 2>&1 | head -n1)" == "$DAGU_VERSION" ]]; }
if dagu_present; then
  say "dagu $DAGU_VERSION ... already present"
else
  part="dagu $DAGU_VERSION"
  new_scratch
  tmp=$TMPD
  tgz="$(npm_fetch "$DAGU_NPM@$DAGU_VERSION" "$tmp")" || die "$part" "npm pack $DAGU_NPM@$DAGU_VERSION failed"
  run tar -xzf "$tgz" -C "$tmp" package/bin/dagu || die "$part" "package/bin/dagu not in $tgz"
  [[ "$(sha256_of "$tmp/package/bin/dagu")" == "$DAGU_SHA256" ]] || die "$part" "sha256 mismatch"
  install -m 0755 "$tmp/package/bin/dagu" "$DAGU_BIN.tmp.$$"
  mv -f "$DAGU_BIN.tmp.$$" "$DAGU_BIN"
  dagu_present || die "$part" "'$DAGU_BIN version' does not report $DAGU_VERSION"
  say "$part ... installed"
fi

ort_present() { [[ -f $ORT_LIB ]] && [[ "$(stat -L -c %s "$ORT_LIB")" == "$ORT_SIZE" ]]; }
if ort_present; then
  say "onnxruntime $ORT_VERSION ... already present"
else
  part="onnxruntime $ORT_VERSION"
  new_scratch
  tmp=$TMPD
  tgz="$(npm_fetch "$ORT_NPM@$ORT_VERSION" "$tmp")" || die "$part" "npm pack $ORT_NPM@$ORT_VERSION failed"
  run tar -xzf "$tgz" -C "$tmp" --wildcards "$ORT_TAR_GLOB" || die "$part" "$ORT_TAR_GLOB not in $tgz"
  real="" have_so1=""
  shopt -s nullglob
  files=("$tmp/${ORT_TAR_GLOB%/*}"/libonnxruntime.so.1*)
  shopt -u nullglob
  [[ ${#files[@]} -gt 0 ]] || die "$part" "no libonnxruntime.so.1* extracted"
  for f in "${files[@]}"; do
    # Keep the real (possibly versioned) name; libonnxruntime.so.1 is the name vindex loads.
    [[ -L $f ]] && continue
    install -m 0644 "$f" "$DEPS_DIR/lib/$(basename "$f").tmp.$$"
    mv -f "$DEPS_DIR/lib/$(basename "$f").tmp.$$" "$DEPS_DIR/lib/$(basename "$f")"
    if [[ $(basename "$f") == libonnxruntime.so.1 ]]; then have_so1=1; else real="$(basename "$f")"; fi
  done
  if [[ -z $have_so1 ]]; then
    [[ -n $real ]] || die "$part" "no regular libonnxruntime.so.1* file in the package"
    ln -sfn "$real" "$ORT_LIB"
  fi
  [[ "$(sha256_of "$ORT_LIB")" == "$ORT_SHA256" ]] || die "$part" "sha256 mismatch"
  grep -aqF "VERS_$ORT_VERSION" "$ORT_LIB" || die "$part" "library does not carry version $ORT_VERSION"
  ort_present || die "$part" "size of $ORT_LIB is not $ORT_SIZE"
  say "$part ... installed"
fi

graphiql_files=(graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js)
graphiql_present() {
  [[ "$(cat "$GRAPHIQL_DIR/VERSION" 2>/dev/null)" == "$GRAPHIQL_VERSION $REACT_VERSION" ]] || return 1
  local f
  for f in "${graphiql_files[@]}"; do [[ -s $GRAPHIQL_DIR/$f ]] || return 1; done
}
if graphiql_present; then
  say "graphiql $GRAPHIQL_VERSION ... already present"
else
  part="graphiql $GRAPHIQL_VERSION"
  new_scratch
  tmp=$TMPD
  for spec in "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"; do
    mkdir -p "$tmp/${spec%@*}"
    tgz="$(npm_fetch "$spec" "$tmp/${spec%@*}")" || die "$part" "npm pack $spec failed"
    run tar -xzf "$tgz" -C "$tmp/${spec%@*}" || die "$part" "cannot unpack $tgz"
  done
  mkdir -p "$GRAPHIQL_DIR.tmp.$$"
  cp "$tmp/graphiql/package/graphiql.min.js" "$tmp/graphiql/package/graphiql.min.css" \
    "$tmp/react/package/umd/react.production.min.js" "$tmp/react-dom/package/umd/react-dom.production.min.js" \
    "$GRAPHIQL_DIR.tmp.$$/" || die "$part" "browser builds missing from the packages"
  echo "$GRAPHIQL_VERSION $REACT_VERSION" >"$GRAPHIQL_DIR.tmp.$$/VERSION"
  rm -rf "$GRAPHIQL_DIR" && mv "$GRAPHIQL_DIR.tmp.$$" "$GRAPHIQL_DIR"
  graphiql_present || die "$part" "files missing in $GRAPHIQL_DIR"
  say "$part ... installed"
fi

say "done in $SECONDS s"
