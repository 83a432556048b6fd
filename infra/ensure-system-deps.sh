#!/usr/bin/env bash
# Make sure the system-level tools the test suite needs are present (idempotent):
#   * Java >= 17 and Maven  (the Kafka broker the tests start)
#   * PostgreSQL server binaries, /usr/lib/postgresql/<major>/bin/initdb  (zugong.devinfra.postgres)
#   * promtool  (validates the Prometheus config and alert rules; Debian package `prometheus`)
#   * a Compose validator: `docker compose` if present, else Debian's `docker-compose`, whose
#     `config` validates docker-compose.yml without a Docker engine
#   * uv  (the project's Python toolchain)
# As root on Debian/Ubuntu, missing pieces are installed with apt-get (one `apt-get update` at
# most). Otherwise the script says what is missing and exits 1.
set -euo pipefail

is_root() { [ "$(id -u)" -eq 0 ]; }

APT_LOG="$(mktemp -t ensure-system-deps.XXXXXX)"
trap 'rm -f "$APT_LOG"' EXIT
APT_UPDATED=0

apt_run() {
    # Quiet apt; show its output only if it fails.
    if ! DEBIAN_FRONTEND=noninteractive "$@" >"$APT_LOG" 2>&1; then
        echo "ensure-system-deps: '$*' failed:" >&2
        tail -n 30 "$APT_LOG" >&2
        exit 1
    fi
}

apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        apt_run apt-get update -qq
        APT_UPDATED=1
    fi
}

apt_install() {
    apt_update_once
    apt_run apt-get install -y -qq --no-install-recommends "$@"
}

has_candidate() {
    # True if apt knows an installable version of package $1.
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

java_major() {
    # Major version of `java` on PATH ("8" for 1.8.x), empty if none.
    command -v java >/dev/null 2>&1 || return 0
    java -version 2>&1 | sed -n -E '1s/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/p' |
        awk '{ print ($1 == 1 ? $2 : $1) }'
}

pg_bindir() {
    # Newest /usr/lib/postgresql/<major>/bin holding initdb, empty if none.
    local dir best="" best_major=-1 major
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] || continue
        major="$(basename "$(dirname "$dir")")"
        major="${major%%.*}"
        if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -gt "$best_major" ]; then
            best="$dir"
            best_major="$major"
        fi
    done
    echo "$best"
}

compose_validator() {
    # The command that validates a Compose file, empty (and false) if none.
    if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        echo "docker compose"
    elif command -v docker-compose >/dev/null 2>&1; then
        echo "docker-compose"
    else
        return 1
    fi
}

# ---------------------------------------------------------------- what is missing?
missing=()
jmajor="$(java_major)"
if [ -z "$jmajor" ] || [ "$jmajor" -lt 17 ]; then missing+=(java); fi
if ! command -v mvn >/dev/null 2>&1; then missing+=(maven); fi
if [ -z "$(pg_bindir)" ]; then missing+=(postgresql); fi
if ! command -v promtool >/dev/null 2>&1; then missing+=(promtool); fi
if ! compose_validator >/dev/null; then missing+=(compose); fi

installed=()
if [ "${#missing[@]}" -gt 0 ]; then
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-system-deps: missing ${missing[*]} (need Java >= 17, Maven, PostgreSQL server, promtool, a Compose validator)." >&2
        hint="${missing[*]}"
        hint="${hint/java/openjdk-17-jre-headless}"
        hint="${hint/promtool/prometheus}"
        hint="${hint/compose/docker-compose}"
        echo "  install with: sudo apt-get install -y --no-install-recommends $hint" \
            "(then re-run this script)" >&2
        exit 1
    fi
    apt_update_once
    packages=()
    for item in "${missing[@]}"; do
        case "$item" in
        java)
            if has_candidate openjdk-17-jre-headless; then
                packages+=(openjdk-17-jre-headless)
            else
                packages+=(default-jre-headless)
            fi
            ;;
        maven) packages+=(maven) ;;
        promtool) packages+=(prometheus) ;;  # only its promtool binary is used
        compose) packages+=(docker-compose) ;;  # only `docker-compose config` is used
        postgresql)
            # Only the binaries are needed: don't let the package create and start a
            # system cluster on port 5432 (only decided here if postgresql-common is new).
            if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
                mkdir -p /etc/postgresql-common
                echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
            fi
            packages+=(postgresql)
            ;;
        esac
    done
    apt_install "${packages[@]}"
    installed=("${packages[@]}")

    jmajor="$(java_major)"
    if [ -z "$jmajor" ] || [ "$jmajor" -lt 17 ]; then
        echo "ensure-system-deps: java on PATH is still '${jmajor:-none}' after installing;" \
            "select Java >= 17 with: update-alternatives --config java" >&2
        exit 1
    fi
    command -v mvn >/dev/null 2>&1 || { echo "ensure-system-deps: mvn still missing" >&2; exit 1; }
    [ -n "$(pg_bindir)" ] || { echo "ensure-system-deps: initdb still missing" >&2; exit 1; }
    command -v promtool >/dev/null 2>&1 ||
        { echo "ensure-system-deps: promtool still missing" >&2; exit 1; }
    compose_validator >/dev/null || { echo "ensure-system-deps: docker-compose still missing" >&2; exit 1; }
fi

# ---------------------------------------------------------------- uv
uv_note=""
if command -v uv >/dev/null 2>&1; then
    uv_version="$(uv --version 2>/dev/null | awk '{ print $2 }' || true)"
else
    user_bin="$(python3 -m site --user-base 2>/dev/null || echo "$HOME/.local")/bin"
    if [ ! -x "$user_bin/uv" ]; then
        if ! python3 -m pip --version >/dev/null 2>&1; then
            if is_root && command -v apt-get >/dev/null 2>&1; then
                apt_install python3-pip
                installed+=(python3-pip)
            else
                echo "ensure-system-deps: uv is not on PATH and python3 has no pip;" \
                    "install pip (apt-get install python3-pip) or uv, then re-run" >&2
                exit 1
            fi
        fi
        # Debian marks the system Python "externally managed" (PEP 668); a --user install of a
        # single self-contained tool is safe, so fall back to --break-system-packages there.
        if ! python3 -m pip install --quiet --user uv >"$APT_LOG" 2>&1; then
            if grep -q externally-managed "$APT_LOG"; then
                apt_run python3 -m pip install --quiet --user --break-system-packages uv
            else
                echo "ensure-system-deps: 'pip install --user uv' failed:" >&2
                tail -n 30 "$APT_LOG" >&2
                exit 1
            fi
        fi
        installed+=(uv)
    fi
    uv_version="$("$user_bin/uv" --version 2>/dev/null | awk '{ print $2 }' || true)"
    uv_note=" (uv is in $user_bin, not on PATH: export PATH=\"$user_bin:\$PATH\")"
    if [ -n "${GITHUB_PATH:-}" ]; then echo "$user_bin" >>"$GITHUB_PATH"; fi
fi

# ---------------------------------------------------------------- summary
mvn_version="$(mvn -B -v 2>/dev/null | sed -n 's/.*Apache Maven \([0-9][0-9.]*\).*/\1/p' || true)"
pgdir="$(pg_bindir)"
promtool_version="$(promtool --version 2>&1 | sed -n "s/^promtool, version \([0-9.]*\).*/\1/p" || true)"
summary="java ${jmajor}, maven ${mvn_version:-?}, postgresql $(basename "$(dirname "$pgdir")") ($pgdir), promtool ${promtool_version:-?}, compose validator '$(compose_validator || true)', uv ${uv_version:-?}"
if [ "${#installed[@]}" -gt 0 ]; then
    echo "ensure-system-deps: installed ${installed[*]}; now have $summary$uv_note"
else
    echo "ensure-system-deps: all present: $summary$uv_note"
fi
