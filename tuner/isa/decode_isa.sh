#!/usr/bin/env bash
# decode_isa.sh — the attention kernels compiled for NVIDIA sm_90 without a GPU: clang-16 turns the OpenCL C into
# PTX (builtins from nvptx_builtins.h), CUDA's ptxas assembles it, cuobjdump gives the SASS. Prints, per kernel,
# precision and shape: registers, spill bytes, local memory, and SASS warp-instructions per cached position in
# the position loop (common path: kernel 4's rare rescale branch apart). Nothing runs; NVIDIA's driver compiles
# the same source with its own front end, so registers can differ (inline PTX becomes the same SASS).
#
#   bash tuner/isa/decode_isa.sh [OUT_DIR]       (default build/isa; the table goes to stdout)
#
# Needs clang-16 (Debian), ptxas (the CUDA toolkit; PTXAS= to choose) and cuobjdump (CUDA, or PyPI's
# nvidia-cuda-cuobjdump wheel, with nvdisasm from nvidia-cuda-nvdisasm; CUOBJDUMP= to choose). Exits 2 naming
# what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/isa}
mkdir -p "$out"

CLANG=${CLANG:-$(command -v clang-16 || true)}
PTXAS=${PTXAS:-$(command -v ptxas || ls /usr/local/cuda/bin/ptxas 2>/dev/null || true)}
CUOBJDUMP=${CUOBJDUMP:-$(command -v cuobjdump || python3 -c 'import nvidia, os, glob; print((glob.glob(os.path.join(list(nvidia.__path__)[0], "*", "bin", "cuobjdump")) + [""])[0])' 2>/dev/null || true)}
for tool in CLANG PTXAS CUOBJDUMP; do
  if [[ -z "${!tool}" || ! -x "${!tool}" ]]; then
    echo "decode_isa.sh: $tool not found (clang-16: apt-get install clang-16; ptxas: the CUDA toolkit;" \
         "cuobjdump: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm)" >&2
    exit 2
  fi
done
# cuobjdump runs nvdisasm, which the nvidia-cuda-nvdisasm wheel puts beside it.
cuobjdump_dir=$(dirname "$CUOBJDUMP")
export PATH="$cuobjdump_dir:$PATH"
if ! command -v nvdisasm > /dev/null; then
  echo "decode_isa.sh: nvdisasm not found beside cuobjdump (pip install nvidia-cuda-nvdisasm)" >&2
  exit 2
fi

# The source of a program as lib/runtime/program.c puts it together (kernels_cl/programs.txt: its files, in order).
program_source() { # program
  local files
  files=$(awk -v p="$1" '$1 == p { $1 = ""; print }' "$root/kernels_cl/programs.txt")
  [[ -n $files ]] || { echo "decode_isa.sh: no program $1 in kernels_cl/programs.txt" >&2; exit 2; }
  for f in $files; do cat "$root/kernels_cl/$f.cl"; echo; done
}

compile() { # name program kernel positions_per_loop warps options...
  local name=$1 program=$2 kernel=$3 positions=$4 warps=$5
  shift 5
  program_source "$program" > "$out/$name.cl"
  "$CLANG" -target nvptx64-nvidia-nvcl -x cl -cl-std=CL1.2 -O3 -S -march=sm_90 -Xclang -finclude-default-header \
    -include "$here/nvptx_builtins.h" "$@" "$out/$name.cl" -o "$out/$name.ptx"
  "$PTXAS" -arch=sm_90 -v "$out/$name.ptx" -o "$out/$name.cubin" 2> "$out/$name.ptxas"
  "$CUOBJDUMP" -sass -fun "$kernel" "$out/$name.cubin" > "$out/$name.sass"
  local info registers spill smem counts common
  info=$(sed -n "/Compiling entry function '$kernel'/,/Compile time/p" "$out/$name.ptxas" | tr '\n' ' ')
  registers=$(echo "$info" | grep -o "Used [0-9]* registers" | grep -o "[0-9]*")
  spill=$(echo "$info" | grep -o "[0-9]* bytes spill stores" | grep -o "^[0-9]*")
  smem=$(echo "$info" | grep -o "[0-9]* bytes smem" | grep -o "^[0-9]*" || echo 0)
  counts=$(python3 "$here/sass_loop.py" "$out/$name.sass")
  common=$(echo "$counts" | sed -E 's/.*common=([0-9]+).*/\1/')
  printf "| %s | %s | %s | %s | %s | %s | %.1f |\n" "$name" "${registers:-?}" "${spill:-0}" "${smem:-0}" \
    "$(echo "$counts" | sed -E 's/loop=[0-9]+ //; s/ /, /g')" "$warps × $positions" \
    "$(echo "$common * $warps / $positions" | bc -l)"
}

paper="-DT6_HEADS=32 -DT6_HEAD_DIM=64 -DT6_RANK_Q=16 -DT6_RANK_K=1 -DT6_RANK_V=1"
medium="-DT6_HEADS=47 -DT6_HEAD_DIM=64 -DT6_RANK_Q=6 -DT6_RANK_K=2 -DT6_RANK_V=2"
echo "| kernel, shape, precision | registers | spill bytes | local memory (B) | loop SASS (common path) | warps × positions per iteration | SASS warp-instr. per position |"
echo "|---|---:|---:|---:|---|---|---:|"
for dtype in 1 2; do
  type=$([[ $dtype == 1 ]] && echo fp16 || echo bf16)
  for mode in strict fast; do
    if [[ $mode == strict ]]; then pterms=2; qterms=$([[ $dtype == 1 ]] && echo 2 || echo 3); else pterms=1; qterms=2; fi
    compile "k4-paper-$type-$mode" attention_mma t6_attention_mma 32 2 $paper \
      -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=$pterms -DT6_DEC_STAGE=32 -DT6_DEC_STAGES=3
    compile "k4-medium-$type-$mode" attention_mma t6_attention_mma 16 3 $medium \
      -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=$pterms -DT6_DEC_STAGE=16 -DT6_DEC_STAGES=3
  done
done
# Causal prefill on the same kernel: 4 queries per group share each stage (8 warps at the paper shape); the count
# is per (query, cached position) pair.
for dtype in 1 2; do
  type=$([[ $dtype == 1 ]] && echo fp16 || echo bf16)
  qterms=$([[ $dtype == 1 ]] && echo 2 || echo 3)
  compile "k4-prefill-paper-$type-strict" attention_mma t6_attention_mma 128 8 $paper -DT6_PREFILL=1 \
    -DT6_CACHE_DTYPE=$dtype -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=2 -DT6_PRE_STAGE=32 -DT6_PRE_STAGES=3 \
    -DT6_PRE_QUERIES=4
done
# MHA prefill on tensor cores (mha_mma.cl) at its defaults: 4 warps of 16 query vectors share 32-position stages;
# the count is per (query vector, position) pair (a warp: 16 vectors × 32 positions per iteration).
for dtype in 1 2; do
  type=$([[ $dtype == 1 ]] && echo fp16 || echo bf16)
  qterms=$([[ $dtype == 1 ]] && echo 2 || echo 3)
  for mode in strict fast; do
    pterms=$([[ $mode == strict ]] && echo 2 || echo 1)
    [[ $mode == fast ]] && qterms=2
    compile "mha-prefill-d64-$type-$mode" mha_mma t6_mha_mma 2048 4 -DT6_HEAD_DIM=64 -DT6_CACHE_DTYPE=$dtype \
      -DT6_MMA=1 -DT6_QTERMS=$qterms -DT6_PTERMS=$pterms -DT6_MHP_STAGE=32 -DT6_MHP_STAGES=3 -DT6_MHP_WARPS=4
  done
done
# Kernel 3 as the library plans it for the paper shape (8 warps, 32-position tiles). Its loop has inner loops
# (the value product's k steps run 4 times), so the static count is a lower bound; the design note counted
# ~6,900 warp instructions per tile by hand (~216 per position).
compile "k3-paper-fp16" attention_decode t6_attention_decode 32 8 $paper -DT6_CACHE_DTYPE=1 -DT6_MMA=1 \
  -DT6_S1_RANKS=4 -DT6_SCORE_T=2 -DT6_SCORE_H=2 -DT6_ACC_HEADS=4 -DT6_DEC_WG_SIZE=256 \
  -DT6_DEC_TILE=32 -DT6_DEC_VECTOR=8
