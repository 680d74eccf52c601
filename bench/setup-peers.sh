#!/usr/bin/env bash
# Installs what the PyTorch peer needs, as PEERS.md prescribes; safe to run again.
#  - Debian's python3-torch (torch 1.13) for /usr/bin/python3, if it cannot import torch yet;
#  - Debian's OpenBLAS, OpenMP build, EXTRACTED (not installed) under bench/.cache/openblas: the
#    bench puts it first on LD_LIBRARY_PATH for the PyTorch process only, because python3-torch as
#    installed links the single-threaded reference BLAS, which is no peer for a matmul;
#  - a note if there is no C compiler (the limit probes peers/*.c need gcc with OpenMP).
# `pnpm bench` never installs anything itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "python3-torch: present ($(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
else
  echo "python3-torch: installing with apt-get"
  $sudo apt-get install -y python3-torch || { $sudo apt-get update && $sudo apt-get install -y python3-torch; }
fi

if ls "$cache"/openblas/usr/lib/*/openblas-openmp/libblas.so.3 >/dev/null 2>&1; then
  echo "OpenBLAS (OpenMP build): present under $cache/openblas"
else
  echo "OpenBLAS (OpenMP build): downloading libopenblas0-openmp and extracting it under $cache/openblas"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download libopenblas0-openmp)
  mkdir -p "$cache/openblas"
  dpkg-deb -x "$tmp"/libopenblas0-openmp_*.deb "$cache/openblas"
  ls "$cache"/openblas/usr/lib/*/openblas-openmp/libblas.so.3
fi

if command -v "${CC:-gcc}" >/dev/null; then
  echo "C compiler: ${CC:-gcc} present (limit probes are compiled at bench time)"
else
  echo "C compiler: none; the bench will skip the fp32-peak and bandwidth probes (apt-get install gcc to have them)"
fi
