#!/usr/bin/env bash
# make image: the portal's image with podman, as shared/CONTAINERS.md says podman runs here.
# Without an image registry, the Debian base is built from Debian's packages (mmdebstrap) and
# imported under the name the Containerfile uses, so the same Containerfile works unchanged
# where a registry is reachable. pip reaches the package index as this machine's pip does:
# its certificate file is mounted into the build and PIP_INDEX_URL passed on, never copied.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/myschool-portal:dev}
base=docker.io/library/debian:bookworm-slim
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}

missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

if ! podman image exists "$base"; then
  if ! podman pull -q "$base" >/dev/null 2>&1; then
    echo "no registry: building $base from Debian's packages"
    rootfs=$(mktemp -d)
    mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$rootfs/base.tar"
    podman import -q "$rootfs/base.tar" "$base" >/dev/null
    rm -rf "$rootfs"
  fi
fi

build=(--runtime runc --format docker --network=host -f deploy/Containerfile -t "$image")
cert=${PIP_CERT:-$( (python3 -m pip config get global.cert 2>/dev/null || true) | tail -1)}
if [ -n "$cert" ] && [ -f "$cert" ]; then
  build+=(-v "$cert:/etc/build-ca.crt:ro" --build-arg PIP_CERT=/etc/build-ca.crt)
fi
[ -n "${PIP_INDEX_URL:-}" ] && build+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
podman build "${build[@]}" .
echo "image: $image"
