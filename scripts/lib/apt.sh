# Shared by the ensure-*.sh scripts: install a Debian package the project needs, once
# per machine. Source it, then call `apt_install WHAT PACKAGE...`. Quiet on success (apt's
# chatter would hide test results); on failure its output is shown.
# The caller exits 0 itself when the tool is already there; this file only installs.

apt_install() {
    local what=$1
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$what is not installed and there is no apt-get here: install $* by hand." >&2
        return 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "$what is not installed; installing it needs root: sudo apt-get install -y $*" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "installing $* with apt-get (once per machine)..." >&2
    local log
    log=$(mktemp)
    # Try without `apt-get update` first: a fresh index is slow and often already there.
    if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
        if ! { "${sudo[@]}" apt-get update -qq && \
               "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "apt-get could not install $*" >&2
            return 1
        fi
    fi
    rm -f "$log"
}

# As root or with sudo: the prefix for commands the install needs around it.
apt_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
