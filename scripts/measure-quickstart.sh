#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times the quick start as a newcomer meets it (issue #16: at most 120 s): a fresh Debian 12
# minimal root with only g++, cmake, make and git, a cold apt cache (no package lists, no
# downloaded .debs), no ccache, then `scripts/quickstart.sh` in a clone of BRANCH.  Prints the
# seconds of each step (apt: update, downloads and install; configure; build; run), the
# packages the quick start installed, and the machine's load.  Run by hand as root, not by CI:
#   scripts/measure-quickstart.sh [BASE_ROOT] [BRANCH]
# BASE_ROOT (default /var/tmp/bnorm-qs-base) is made once by debootstrap and kept; each run
# copies it, so every measurement starts from the same fresh root.  BNORM_MIRROR names the
# Debian mirror (default http://deb.debian.org/debian); BNORM_KEEP_ROOT=1 keeps the run's root.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && git rev-parse --show-toplevel)
base=${1:-/var/tmp/bnorm-qs-base}
branch=${2:-$(git -C "$repo" branch --show-current)}
mirror=${BNORM_MIRROR:-http://deb.debian.org/debian}
security=${mirror%/debian}/debian-security
in_root() { chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$2"; }

if [[ ! -x $base/usr/bin/g++ ]]; then
  if [[ ! -e $base/etc/debian_version ]]; then
    command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap
    debootstrap --variant=minbase bookworm "$base" "$mirror"
  fi
  cat >"$base/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  mount -t proc proc "$base/proc"
  in_root "$base" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends g++ cmake make git >/dev/null" || { umount "$base/proc"; exit 1; }
  umount "$base/proc"
fi

run=$(mktemp -d /var/tmp/bnorm-qs-run.XXXXXX)
cleanup() {
  umount "$run/proc" 2>/dev/null || true
  [[ ${BNORM_KEEP_ROOT:-0} == 1 ]] || rm -rf "$run"
}
trap cleanup EXIT
cp -a "$base/." "$run/"
# The cold cache: no package lists and no downloaded packages, as on a machine just installed.
rm -rf "$run"/var/lib/apt/lists/* "$run"/var/cache/apt/archives/*.deb
cp /etc/resolv.conf "$run/etc/resolv.conf"
git clone -q --branch "$branch" "$repo" "$run/root/bnorm"
mount -t proc proc "$run/proc"

# Stand-ins first on PATH that log when apt-get and cmake start and end, then run the real one.
for tool in apt-get cmake; do
  cat >"$run/usr/local/bin/$tool" <<EOF
#!/bin/bash
echo "\$(date +%s.%N) start $tool \$*" >>/var/tmp/steps.log
/usr/bin/$tool "\$@"; status=\$?
echo "\$(date +%s.%N) end $tool" >>/var/tmp/steps.log
exit \$status
EOF
  chmod +x "$run/usr/local/bin/$tool"
done

before=$(in_root "$run" "dpkg-query -W -f='\${Package}\n' | sort")
load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
in_root "$run" "cd /root/bnorm && scripts/quickstart.sh"
end=$(date +%s.%N)
after=$(in_root "$run" "dpkg-query -W -f='\${Package}\n' | sort")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Seconds spent in each kind of step, from the log's start/end pairs.
awk -v start="$start" -v end="$end" '
  $2 == "start" { t0 = $1; kind = $3 == "apt-get" ? "apt" : ($4 == "--build" ? "build" : "configure") }
  $2 == "end" { spent[kind] += $1 - t0; total += $1 - t0 }
  END {
    printf "apt (update, downloads, install)  %6.1f s\n", spent["apt"]
    printf "configure                         %6.1f s\n", spent["configure"]
    printf "build                             %6.1f s\n", spent["build"]
    printf "run and the rest                  %6.1f s\n", end - start - total
    printf "quick start, in all               %6.1f s\n", end - start
  }' "$run/var/tmp/steps.log"
added=$(comm -13 <(echo "$before") <(echo "$after"))
echo "packages the quick start installed: $(echo "$added" | grep -c .)"
echo "$added" | tr '\n' ' ' | fold -s -w 96
echo
echo "load average before: $load; after: $load_after ($(nproc) cores)"
