#!/usr/bin/env bash
# Installs what doppel needs to build and test on Debian or Ubuntu, only what is missing, and nothing twice.
# Called by `make run` and `make test` (with --test: also what the tests need); safe to run by hand. Set
# DOPPEL_NO_APT=1 to skip the apt step.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# System packages: the C libraries doppel links (libespeak-ng; FFmpeg 5.1 with x264, libvpx and libopus) and
# the tools to build them (clang for bindgen); the fonts text layers and subtitles use (Noto Sans CJK covers
# Chinese and Latin); jq and curl for the copy-paste API examples `make run` prints.
packages=(
  build-essential pkg-config clang libclang-dev
  libespeak-ng-dev espeak-ng-data
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
  fonts-noto-cjk fonts-dejavu-core
  jq curl
)
# Tests also drive a real browser (headless Chromium) to check what viewers see, and make recordings in every
# audio format with the ffmpeg command-line tool.
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium ffmpeg)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ] && [ -z "${DOPPEL_NO_APT:-}" ]; then
  echo "install-deps: installing ${missing[*]}"
  apt_install "${missing[@]}" || { echo "install-deps: installing ${missing[*]} failed" >&2; exit 1; }
fi

# The Rust toolchain: rustup's if present, Debian's otherwise.
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  echo "install-deps: no cargo found; installing Debian's rustc and cargo"
  apt_install cargo rustc
fi
need="1.94"
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "install-deps: rustc $have is older than $need; install a newer toolchain with rustup" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
    rustup component add "$component"
  fi
done
