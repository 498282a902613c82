#!/usr/bin/env bash
# Installs everything execo's demo, tests and benchmarks need, idempotently:
# Debian packages (when root) and a project virtualenv in .venv from requirements.lock.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

APT_PACKAGES=(openssh-server openssh-client taktuk netcat-traditional iproute2 procps psmisc
              tcpdump tcptrace
              python3-venv python3-dev gcc ca-certificates)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # sshd refuses to start without its privilege-separation directory.
    mkdir -p /run/sshd
elif [ "$(id -u)" != 0 ]; then
    for tool in sshd ssh taktuk; do
        command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || \
            echo "setup: warning: $tool not found; install: ${APT_PACKAGES[*]}" >&2
    done
fi

pip_install() {
    # pip, with the noise of unreachable local mirrors some machines configure filtered out.
    local out rc=0
    out=$(.venv/bin/python -m pip install -q "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v -e "is ignored: it is neither" -e '^$' >&2 || true
    return $rc
}

PY=${PYTHON:-python3}
stamp=.venv/.execo-lock-stamp
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing Python dependencies into .venv" >&2
    pip_install -r requirements.lock --require-hashes
    pip_install --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
fi
