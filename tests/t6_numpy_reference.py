#!/usr/bin/env python3
"""The whole T6 model of TPA.md in float64 numpy: what t6_model is checked against end to end.

Per layer: x += c_proj(attention(rmsnorm(x))); x += mlp(rmsnorm(x)), rmsnorm without weight and eps = fp32
machine epsilon, mlp(x) = c_proj(silu(c_fc1 x) * (c_fc2 x)); then logits = lm_head . rmsnorm(x), lm_head tied
with the embedding unless the file has lm_head.weight. Attention is TPA (TPA.md "Attention, defined through the
full tensors", RoPE style half, base 10000) or, for checkpoints with attn.c_q, standard MHA with the same RoPE on
q and k. The whole token sequence is recomputed causally, so the logits of every position come out at once.

    t6_numpy_reference.py tiny.safetensors 5,17,3,9      # prints the argmax after each position
"""
import json
import struct
import sys

import numpy as np

EPS = float(np.finfo(np.float32).eps)  # F.rms_norm's default, 1.1920929e-07
ROPE_BASE = 10000.0


def load_safetensors(path):
    """name -> float64 array, for F32, F16 and BF16 tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        if entry["dtype"] == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif entry["dtype"] == "F16":
            values = np.frombuffer(raw, dtype="<f2")
        elif entry["dtype"] == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: dtype {entry['dtype']}")
        tensors[name] = values.astype(np.float64).reshape(entry["shape"])
    return tensors


def round_weights(tensors, dtype):
    """The tensors as a model with weight_dtype `dtype` holds them: every value rounded to nearest even from its
    fp32 value ("f32" leaves them as they are), back as float64."""
    if dtype == "f32":
        return dict(tensors)
    rounded = {}
    for name, values in tensors.items():
        single = values.astype(np.float32)
        if dtype == "f16":
            rounded[name] = single.astype(np.float16).astype(np.float64)
        elif dtype == "bf16":
            bits = single.view(np.uint32).astype(np.uint64)
            bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
            rounded[name] = bits.astype(np.uint32).view(np.float32).astype(np.float64)
        else:
            raise ValueError(f"weight dtype {dtype}")
    return rounded


def rmsnorm(x):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)


def rope_half(vectors, positions):
    """Rotates the last axis (D) of vectors[..., t, :] at positions[t], TPA.md style half:
    y_i = x_i cos + x_{i+D/2} sin ; y_{i+D/2} = -x_i sin + x_{i+D/2} cos."""
    D = vectors.shape[-1]
    inv_freq = ROPE_BASE ** (-2.0 * np.arange(D // 2) / D)
    angle = np.outer(positions, inv_freq)  # T x D/2
    cos, sin = np.cos(angle), np.sin(angle)
    lo, hi = vectors[..., : D // 2], vectors[..., D // 2:]
    return np.concatenate([lo * cos + hi * sin, -lo * sin + hi * cos], axis=-1)


def causal_attention(q, k, v):
    """q, k, v: heads x T x D. Softmax scale 1/sqrt(D); position t sees m <= t."""
    T, D = q.shape[1], q.shape[2]
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(D)
    scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v


def tpa_attention(w, p, h, positions):
    """TPA.md: A and B factors, RoPE on B_Q and B_K, q_h = (1/Rq) sum_r A_Q[h][r] B_Q[r] (k, v likewise)."""
    T = h.shape[0]
    full = {}
    for kind in "qkv":
        W_A, W_B = w[p + f"attn.c_qkv.W_A_{kind}.weight"], w[p + f"attn.c_qkv.W_B_{kind}.weight"]
        full[kind] = (W_A, W_B)
    h_rq, rq_d, h_d = full["q"][0].shape[0], full["q"][1].shape[0], w[p + "attn.c_proj.weight"].shape[1]
    heads = int(round(np.sqrt(h_rq * h_d / rq_d)))
    D = h_d // heads
    out = {}
    for kind in "qkv":
        W_A, W_B = full[kind]
        rank = W_A.shape[0] // heads
        A = (h @ W_A.T).reshape(T, heads, rank)
        B = (h @ W_B.T).reshape(T, rank, D)
        if kind != "v":
            B = rope_half(B.transpose(1, 0, 2), positions).transpose(1, 0, 2)
        out[kind] = np.einsum("thr,trd->htd", A, B) / rank  # heads x T x D
    attended = causal_attention(out["q"], out["k"], out["v"])
    return attended.transpose(1, 0, 2).reshape(T, heads * D)


def mha_attention(w, p, h, positions, head_dim):
    T = h.shape[0]
    heads = w[p + "attn.c_q.weight"].shape[0] // head_dim
    qkv = [(h @ w[p + f"attn.c_{kind}.weight"].T).reshape(T, heads, head_dim).transpose(1, 0, 2) for kind in "qkv"]
    q, k, v = rope_half(qkv[0], positions), rope_half(qkv[1], positions), qkv[2]
    return causal_attention(q, k, v).transpose(1, 0, 2).reshape(T, heads * head_dim)


def forward(w, tokens, head_dim=64):
    """Logits (T x V) of every position of `tokens`. head_dim is used by MHA checkpoints only."""
    tokens = np.asarray(tokens)
    positions = np.arange(len(tokens), dtype=np.float64)
    wte = w["transformer.wte.weight"]
    x = wte[tokens].copy()
    layer = 0
    while f"transformer.h.{layer}.mlp.c_fc1.weight" in w:
        p = f"transformer.h.{layer}."
        h = rmsnorm(x)
        if p + "attn.c_q.weight" in w:
            y = mha_attention(w, p, h, positions, head_dim)
        else:
            y = tpa_attention(w, p, h, positions)
        x = x + y @ w[p + "attn.c_proj.weight"].T
        h = rmsnorm(x)
        a, b = h @ w[p + "mlp.c_fc1.weight"].T, h @ w[p + "mlp.c_fc2.weight"].T
        x = x + (a / (1.0 + np.exp(-a)) * b) @ w[p + "mlp.c_proj.weight"].T
        layer += 1
    head = w.get("lm_head.weight", wte)
    return rmsnorm(x) @ head.T


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    logits = forward(load_safetensors(argv[1]), [int(t) for t in argv[2].split(",")])
    print(" ".join(str(int(i)) for i in logits.argmax(axis=-1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
