# Shared by tools/test and tools/run (sourced, not run): Debian packages, build configurations.
#
# Both scripts configure build/release with the same options, so switching between them never
# reconfigures or rebuilds anything needlessly. Change a configuration here, nowhere else.

# The repository root; every path below is relative to it.
FERRITE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Parallel jobs for ninja and meson test: one per core (the CI box has 2).
FERRITE_JOBS="${FERRITE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

ferrite_say() { printf '\n==> %s\n' "$*"; }
ferrite_die() {
  printf 'ferrite: %s\n' "$*" >&2
  exit 1
}

# --- Debian packages ------------------------------------------------------------------------

# The package names in tools/packages.txt (comments and blank lines dropped).
ferrite_packages() {
  sed -e 's/#.*//' -e 's/[[:space:]]\+$//' -e '/^[[:space:]]*$/d' "$FERRITE_ROOT/tools/packages.txt"
}

# Prints the packages that are not installed, one a line.
ferrite_missing_packages() {
  local pkg status
  for pkg in $(ferrite_packages); do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" || status=""
    [[ $status == installed ]] || printf '%s\n' "$pkg"
  done
}

# Installs whatever is missing; does nothing (not even apt-get update) when all is there.
ferrite_install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "ferrite: not a Debian system; make sure these are installed: $(ferrite_packages | tr '\n' ' ')"
    return 0
  fi
  local missing
  mapfile -t missing < <(ferrite_missing_packages)
  ((${#missing[@]} == 0)) && return 0

  ferrite_say "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || ferrite_die "not root and no sudo: install ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q -o Acquire::Retries=3 \
    || ferrite_die "apt-get update failed"
  # The peers we test against (memcached, redis-server) are daemons whose packages start them
  # on their default ports, the ports ferrited's default config uses. A policy-rc.d that says
  # "no" (exit 101) keeps them stopped while they are installed; we start them ourselves, on
  # other ports, only in the tests and benchmarks.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy" && made_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q -o Acquire::Retries=3 --no-install-recommends "${missing[@]}" || rc=$?
  ((made_policy)) && "${sudo[@]}" rm -f "$policy"
  ((rc == 0)) || ferrite_die "apt-get install failed"
}

# --- build configurations -------------------------------------------------------------------
#
#   release  optimised, -Werror; tests and benchmarks must be found and built
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer, no benchmarks
#   tsan     ThreadSanitizer, no benchmarks; only the `concurrent` test suite is registered/run
#   fuzz     clang, ASan + UBSan + libFuzzer

# Sets FERRITE_SETUP_ARGS (meson setup options) and FERRITE_SETUP_ENV (environment for the
# first `meson setup`, e.g. the compiler) for configuration $1.
# shellcheck disable=SC2054  # the commas are inside meson option values
ferrite_config() {
  FERRITE_SETUP_ENV=()
  case "$1" in
    release)
      FERRITE_SETUP_ARGS=(--buildtype=release -Dwerror=true -Dtests=enabled -Dbench=enabled) ;;
    asan)
      FERRITE_SETUP_ARGS=(--buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
                          -Dwerror=true -Dtests=enabled -Dbench=disabled) ;;
    tsan)
      FERRITE_SETUP_ARGS=(--buildtype=debugoptimized -Db_sanitize=thread -Dwerror=true
                          -Dtests=enabled -Dbench=disabled -Dtest_filter=concurrent) ;;
    fuzz)
      # Every library is built with libFuzzer's coverage instrumentation (fuzzer-no-link), so a
      # target explores the codec and session code it calls, not only its own file.
      FERRITE_SETUP_ENV=(CXX=clang++ CC=clang)
      FERRITE_SETUP_ARGS=(--buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
                          -Dcpp_args=-fsanitize=fuzzer-no-link
                          -Dwerror=true -Dtests=enabled -Dbench=disabled) ;;
    *)
      ferrite_die "unknown build configuration '$1' (release, asan, tsan, fuzz)" ;;
  esac
}

# Configures build/$1: a fresh `meson setup`, or `meson setup --reconfigure` when it exists.
ferrite_configure() {
  local name="$1" dir="build/$1"
  ferrite_config "$name"
  if [[ -f $dir/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$dir" "${FERRITE_SETUP_ARGS[@]}"
  else
    rm -rf "$dir"  # a half-made directory from an interrupted first setup
    env "${FERRITE_SETUP_ENV[@]}" meson setup "$dir" "${FERRITE_SETUP_ARGS[@]}"
  fi
}

# Builds every default target of build/$1 (tests, benchmarks when enabled, tools) or, with a
# second argument, only the programs the tests of that suite run (the TSan and fuzz
# configurations run one suite each: building everything there would double CI's time).
ferrite_build() {
  if [[ -z ${2:-} ]]; then
    ninja -C "build/$1" -j "$FERRITE_JOBS"
    return
  fi
  local targets
  mapfile -t targets < <(meson introspect --tests "build/$1" | python3 -c '
import json, os, sys
build, suite = os.path.realpath(sys.argv[1]), sys.argv[2]
seen = set()
for t in json.load(sys.stdin):
    if not any(s == suite or s.endswith(":" + suite) for s in t["suite"]):
        continue
    # The program a test runs, and the programs it names in its environment (FERRITED=...).
    for path in [t["cmd"][0]] + [v for v in (t.get("env") or {}).values() if v.startswith(build)]:
        exe = os.path.realpath(path)
        if exe.startswith(build + os.sep) and exe not in seen and os.sep in os.path.relpath(exe, build):
            seen.add(exe)
            print(os.path.relpath(exe, build))
' "build/$1" "$2")
  ((${#targets[@]} > 0)) || { echo "ferrite: no test programs in suite '$2' of build/$1" >&2; return 1; }
  ninja -C "build/$1" -j "$FERRITE_JOBS" "${targets[@]}"
}
