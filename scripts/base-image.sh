#!/usr/bin/env bash
# Builds the registry-free base image: a rootfs holding this host's node binary and the shared
# libraries it links, imported with `docker import`. Dockerfiles take it through `ARG BASE`, so with a
# registry the same Dockerfiles build FROM node:20-slim instead.
source "$(dirname "$0")/lib.sh"
BASE_IMAGE="${GL_BASE_IMAGE:-greenlight/node-base:local}"
NODE_BIN="$(readlink -f "$(command -v node)")"
# Rebuild only when the host's node changes.
tag_id="$(sha256sum "$NODE_BIN" | cut -c1-12)"
if [ "$(docker image inspect -f '{{index .Config.Labels "greenlight.node-sha"}}' "$BASE_IMAGE" 2>/dev/null)" = "$tag_id" ]; then
  exit 0
fi
log "building $BASE_IMAGE from $NODE_BIN"
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs" # mktemp -d makes it 0700; it becomes the image's /
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/app"
chmod 1777 "$rootfs/tmp"
cp "$NODE_BIN" "$rootfs/usr/local/bin/node"
# Every library node links, plus the dynamic loader, at the same paths.
for lib in $(ldd "$NODE_BIN" | grep -oE '/[^ ]+'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
echo 'root:x:0:0:root:/root:/bin/false' >"$rootfs/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL greenlight.node-sha=$tag_id" \
  --change 'WORKDIR /app' \
  - "$BASE_IMAGE" >/dev/null
