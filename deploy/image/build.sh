#!/usr/bin/env bash
# Builds berth's image (the repository's Dockerfile) from a static binary.
#   deploy/image/build.sh [TAG]          default tag berth:latest
# Uses podman, else docker. Nothing is pulled: the image starts FROM scratch.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-berth:latest}"
builder=$(command -v podman || command -v docker || true)
if [ -z "$builder" ]; then
  echo "build.sh: neither podman nor docker is installed" >&2
  exit 2
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# modernc.org/sqlite is pure Go: the binary needs no C library.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/berth" ./cmd/berth
printf 'root:x:0:0:root:/:/sbin/nologin\nberth:x:65532:65532:berth:/data:/sbin/nologin\n' >"$ctx/passwd"
printf 'root:x:0:\nberth:x:65532:\n' >"$ctx/group"
mkdir "$ctx/data"
# Providers (SCIM, webhooks, Telegram) are reached over HTTPS.
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cp Dockerfile "$ctx/Dockerfile"
# podman's default (OCI) format has no HEALTHCHECK: ask for docker's.
format=()
case "$builder" in *podman) format=(--format docker) ;; esac
"$builder" build "${format[@]}" -t "$tag" "$ctx"
