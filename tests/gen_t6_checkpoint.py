#!/usr/bin/env python3
"""Writes a tiny random T6 checkpoint as a safetensors file (numpy only).

Tensor names and layouts are those of T6.py (TPA.md, "The whole T6 model"): transformer.wte.weight (tied with
the lm_head unless --untied), and per layer attn.c_qkv.W_{A,B}_{q,k,v}.weight, attn.c_proj.weight,
mlp.c_fc1/c_fc2/c_proj.weight. With --attention mha, attn.c_q/c_k/c_v.weight replace c_qkv (the MHA baseline
of t6_model). Weights are normal with sigma 1/sqrt(fan_in), stored as F32, F16 or BF16.

    gen_t6_checkpoint.py --out tiny.safetensors --dtype bf16 --seed 3
"""
import argparse
import json
import struct
import sys

import numpy as np


def bf16_bits(values):
    """float32 -> bf16 bit patterns, rounded to nearest even as t6 and PyTorch do."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def encode(values, dtype):
    """The little-endian bytes of `values` stored as dtype ("f32", "f16", "bf16") and the header's dtype name."""
    if dtype == "f32":
        return np.ascontiguousarray(values, dtype="<f4").tobytes(), "F32"
    if dtype == "f16":
        return np.ascontiguousarray(values, dtype="<f2").tobytes(), "F16"
    if dtype == "bf16":
        return bf16_bits(values).astype("<u2").tobytes(), "BF16"
    raise ValueError(f"unknown dtype {dtype}")


def write_safetensors(path, tensors, dtype):
    """tensors: name -> 2-D float array. Writes them in name order, the header padded to 8 bytes with spaces."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        blob, dtype_name = encode(tensors[name], dtype)
        header[name] = {"dtype": dtype_name, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def make_tensors(args):
    rng = np.random.default_rng(args.seed)
    C, H, D, L = args.dim, args.heads, args.head_dim, args.layers
    F = args.hidden or (8 * C) // 3
    rq, rk, rv = args.ranks

    def linear(rows, cols):
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    # A small embedding next to O(1) layer outputs: with a tied head, a large one would make every token
    # predict itself, and greedy decoding would only repeat the prompt's last token.
    tensors = {"transformer.wte.weight": (0.1 * rng.standard_normal((args.vocab, C))).astype(np.float32)}
    if args.untied:
        tensors["lm_head.weight"] = linear(args.vocab, C)
    for i in range(L):
        p = f"transformer.h.{i}."
        if args.attention == "tpa":
            for kind, rank in (("q", rq), ("k", rk), ("v", rv)):
                tensors[p + f"attn.c_qkv.W_A_{kind}.weight"] = linear(H * rank, C)
                tensors[p + f"attn.c_qkv.W_B_{kind}.weight"] = linear(rank * D, C)
        else:
            for kind in "qkv":
                tensors[p + f"attn.c_{kind}.weight"] = linear(H * D, C)
        tensors[p + "attn.c_proj.weight"] = linear(C, H * D)
        tensors[p + "mlp.c_fc1.weight"] = linear(F, C)
        tensors[p + "mlp.c_fc2.weight"] = linear(F, C)
        tensors[p + "mlp.c_proj.weight"] = linear(C, F)
    return tensors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument("--vocab", type=int, default=97)
    parser.add_argument("--dim", type=int, default=72, help="C, the model width")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=3)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--ranks", type=lambda s: tuple(int(x) for x in s.split(",")), default=(6, 2, 2),
                        help="Rq,Rk,Rv (TPA)")
    parser.add_argument("--hidden", type=int, default=0, help="MLP hidden size (default floor(8C/3))")
    parser.add_argument("--attention", choices=("tpa", "mha"), default="tpa")
    parser.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    parser.add_argument("--untied", action="store_true", help="write a separate lm_head.weight")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if len(args.ranks) != 3:
        parser.error("--ranks needs three values")
    write_safetensors(args.out, make_tensors(args), args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
