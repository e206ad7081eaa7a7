#!/usr/bin/env bash
# test/install-deps.sh — install, with apt-get, whatever pg_mlops needs to build, test, demo and
# benchmark that this Debian 12 machine does not have yet.  Packages are asked not to start
# system services: no "main" PostgreSQL cluster is created and policy-rc.d refuses every start
# while apt-get runs.  Only missing packages are installed; a machine that has them all is left
# alone (no apt-get update).
#
# Usage: test/install-deps.sh            (as root, or as a user who may sudo)
set -euo pipefail

# One list for every part of the project; later features add their peers here.
PACKAGES=(
  make gcc pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-postgis-3
  libcurl4-openssl-dev libjson-c-dev libarchive-dev libzip-dev zlib1g-dev
  libipc-run-perl
  # real servers for transfer tests and benchmarks (nginx with WebDAV), and the curl CLI peer
  nginx-light libnginx-mod-http-dav-ext curl bc zip unzip
  # the heatmap picture's tests: an SVG renderer and an XML checker (skipped when absent)
  librsvg2-bin libxml2-utils
  # kernel fuzzing (libFuzzer ships in clang's runtime)
  clang-14 libclang-rt-14-dev
  # peers for parity tests and benchmarks (Debian's /usr/bin/python3)
  python3 python3-sklearn python3-numpy python3-skimage python3-opencv
  # numpy with OpenBLAS, as its users have it (Debian's default reference BLAS would handicap the peer)
  libopenblas0-pthread
  # the reference external trainer (examples/trainer.py)
  python3-psycopg2
  # the S3 endpoint of the tests that verifies SigV4 signatures (test/lib/s3verify.py)
  python3-botocore
  # the pipelines' exports are opened with gdalinfo in the tests
  gdal-bin
  # the Debian package (debian/, test/integration/deb_package.sh): pg_buildext and its peers
  debhelper postgresql-server-dev-all dpkg-dev fakeroot
)

# Node.js and npm run s3rver (an S3-compatible server) in the upload tests; this machine kind
# ships them (package nodejs with npm inside); elsewhere Debian's npm brings both.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi

echo "install-deps: installing ${missing[*]}"

# No cluster for the packages to create: tests make their own throwaway clusters.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/00-pg_mlops-no-main.conf >/dev/null

# No service may start during the install; an existing policy-rc.d is put back afterwards.
policy=/usr/sbin/policy-rc.d
backup=
if [ -e "$policy" ]; then
  backup=$(mktemp)
  $SUDO cp -p "$policy" "$backup"
fi
restore_policy() {
  if [ -n "$backup" ]; then
    $SUDO cp -p "$backup" "$policy"
    rm -f "$backup"
  else
    $SUDO rm -f "$policy"
  fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
$SUDO chmod 755 "$policy"

$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
