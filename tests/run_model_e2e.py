#!/usr/bin/env python3
"""End-to-end test of the whole T6 model: writes tiny random checkpoints (gen_t6_checkpoint.py), runs
samples/t6-generate on each with --dump-logits, and compares every step's logits with the float64 numpy model
(t6_numpy_reference.py) fed the same tokens.

    run_model_e2e.py path/to/t6-generate WORKDIR

Tolerance, per step: max |t6 - ref| <= tol * max |ref|. The reference reads the very values the checkpoint
stores (F16/BF16 weights are exact in fp32), so with an fp32 cache the only differences are fp32 rounding in
t6's products, norms and softmax: tol 1e-4, TPA.md's bound for fp32 against a reference fed the same values
(PoCL measures about 2e-6 for these two- and three-layer models). A fp16 or bf16 cache rounds every cached
factor, so those runs get TPA.md's bounds against the unrounded reference: 5e-3 and 2e-2. The greedy picks
must also be the argmax of t6's own logits, and of the reference's wherever its top two differ by more than
twice the tolerance (a near tie may legitimately go either way).
Runs with --weights f16 or bf16 store fp32 checkpoints' weights rounded on the device (2 bytes each); the
reference is fed the same rounded values (t6_numpy_reference.round_weights), so they keep fp32's 1e-4.
Then the runs t6-generate must refuse with an exit status instead of printing tokens: numbers that are not
whole numbers or overflow an int (it used atoi), a prompt plus --tokens past the largest capacity (the sum
overflowed), a checkpoint with a NaN or an Inf weight (the loader names the tensor), and finite weights whose
logits overflow (argmax over NaN printed token 0 and exited 0).
Exits 77 (skipped) when numpy is missing. T6_E2E_CASES (comma-separated case names) runs those cases only, with
the refusals (.ci/run's slice on a second OpenCL driver, whose compiler is slower).
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is missing: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_t6_checkpoint  # noqa: E402
import t6_numpy_reference  # noqa: E402

# name, generator arguments, t6-generate arguments, prompt length, tokens to generate, tolerance
CASES = [
    ("tpa-f32", ["--dtype", "f32", "--seed", "1"], [], 7, 6, 1e-4),
    ("tpa-f16-untied", ["--dtype", "f16", "--untied", "--seed", "2"], [], 5, 5, 1e-4),
    ("tpa-bf16-odd", ["--dtype", "bf16", "--heads", "5", "--head-dim", "64", "--ranks", "3,1,2", "--dim", "50",
                      "--vocab", "61", "--layers", "3", "--seed", "3"], ["--weights", "bf16"], 4, 5, 1e-4),
    # 140 prompt tokens: longer than the model's prefill chunk (128 rows), so the prompt runs in two pieces.
    ("tpa-long-prompt", ["--dtype", "f32", "--seed", "4"], [], 140, 4, 1e-4),
    ("tpa-cache-f16", ["--dtype", "f32", "--seed", "5"], ["--cache", "f16"], 9, 5, 5e-3),
    ("tpa-cache-bf16", ["--dtype", "f32", "--seed", "6"], ["--cache", "bf16"], 9, 5, 2e-2),
    ("mha-f16", ["--dtype", "f16", "--attention", "mha", "--heads", "2", "--head-dim", "32", "--seed", "7"],
     ["--attention", "mha", "--head-dim", "32"], 8, 5, 1e-4),
    # fp32 checkpoints held as 2-byte weights on the device, the odd shape and the long prompt among them.
    ("tpa-weights-f16", ["--dtype", "f32", "--seed", "8"], ["--weights", "f16"], 9, 6, 1e-4),
    ("tpa-weights-bf16-odd", ["--dtype", "f32", "--heads", "5", "--head-dim", "64", "--ranks", "3,1,2", "--dim",
                              "50", "--vocab", "61", "--layers", "3", "--seed", "9"], ["--weights", "bf16"], 6, 5,
     1e-4),
    ("tpa-weights-bf16-long", ["--dtype", "f32", "--seed", "10"], ["--weights", "bf16", "--cache", "f16"], 140, 4,
     5e-3),
    ("mha-weights-f16", ["--dtype", "f32", "--attention", "mha", "--heads", "2", "--head-dim", "32", "--seed",
                         "11"], ["--attention", "mha", "--head-dim", "32", "--weights", "f16"], 8, 5, 1e-4),
]


def weight_dtype(run_args):
    return run_args[run_args.index("--weights") + 1] if "--weights" in run_args else "f32"


def run_case(generate, workdir, name, gen_args, run_args, prompt_length, tokens, tol):
    checkpoint = os.path.join(workdir, name + ".safetensors")
    dump = os.path.join(workdir, name + ".npy")
    gen_t6_checkpoint.main(["--out", checkpoint] + gen_args)
    weights = t6_numpy_reference.round_weights(t6_numpy_reference.load_safetensors(checkpoint),
                                               weight_dtype(run_args))
    vocab = weights["transformer.wte.weight"].shape[0]
    rng = np.random.default_rng(len(name))
    prompt = [int(t) for t in rng.integers(0, vocab, prompt_length)]
    command = [generate, "--model", checkpoint, "--prompt", ",".join(map(str, prompt)), "--tokens", str(tokens),
               "--dump-logits", dump] + run_args
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        print(f"{name}: t6-generate failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return False
    lines = [line for line in result.stdout.splitlines() if line.startswith("tokens:")]
    generated = [int(t) for t in lines[0].split()[1:]] if lines else []
    got = np.load(dump)
    if len(generated) != tokens or got.shape != (tokens, vocab):
        print(f"{name}: expected {tokens} tokens and logits {tokens}x{vocab}, got {generated} and {got.shape}")
        return False
    head_dim = 32 if "mha" in name else 64
    # Logits at the positions whose prediction chose each generated token: the prompt's last, then each
    # generated token but the last.
    ref = t6_numpy_reference.forward(weights, prompt + generated[:-1], head_dim=head_dim)[prompt_length - 1:]
    ok, worst = True, 0.0
    for step in range(tokens):
        scale = np.max(np.abs(ref[step]))
        error = np.max(np.abs(got[step] - ref[step])) / scale
        if not error <= tol:
            print(f"{name}: step {step}: relative error {error:.3g} > {tol:g}")
            ok = False
        if generated[step] != int(np.argmax(got[step])):
            print(f"{name}: step {step}: picked {generated[step]}, not the argmax of its own logits")
            ok = False
        top = np.sort(ref[step])[-2:]
        if top[1] - top[0] > 2 * tol * scale and generated[step] != int(np.argmax(ref[step])):
            print(f"{name}: step {step}: picked {generated[step]}, the reference says {int(np.argmax(ref[step]))}")
            ok = False
        worst = max(worst, error)
    print(f"{name}: {tokens} steps, worst relative error {worst:.2e} (tolerance {tol:g}): {'ok' if ok else 'FAILED'}")
    return ok


def run_refusals(generate, workdir):
    checkpoint = os.path.join(workdir, "refusals.safetensors")
    gen_t6_checkpoint.main(["--out", checkpoint, "--dtype", "f32", "--untied", "--seed", "8"])
    weights = t6_numpy_reference.load_safetensors(checkpoint)

    def changed(name, tensor, change):
        path = os.path.join(workdir, name + ".safetensors")
        tensors = dict(weights)
        tensors[tensor] = weights[tensor].copy()
        change(tensors[tensor])
        gen_t6_checkpoint.write_safetensors(path, tensors, "f32")
        return path

    def set_nan(w):
        w[0, 5] = np.nan

    def set_inf(w):
        w[2, 0] = np.inf

    def set_huge(w):
        w[...] = np.where(w < 0, -3e38, 3e38)  # finite in fp32; every product overflows

    nan = changed("nan-fc1", "transformer.h.0.mlp.c_fc1.weight", set_nan)
    inf = changed("inf-wte", "transformer.wte.weight", set_inf)
    huge = changed("huge-head", "lm_head.weight", set_huge)
    cases = [
        ("--tokens past an int", checkpoint, ["--tokens", "99999999999"], 2, "--tokens needs a whole number"),
        ("--tokens with trailing text", checkpoint, ["--tokens", "4x"], 2, "--tokens needs a whole number"),
        ("--tokens negative", checkpoint, ["--tokens", "-3"], 2, "--tokens needs a whole number"),
        ("--head-dim past an int", checkpoint, ["--head-dim", "99999999999"], 2, "--head-dim needs a whole number"),
        ("capacity past an int", checkpoint, ["--tokens", "2147483647"], 2, "need 2147483650 positions"),
        ("NaN weight", nan, ["--tokens", "3"], 1, "tensor 'transformer.h.0.mlp.c_fc1.weight' holds NaN"),
        ("Inf weight", inf, ["--tokens", "3"], 1, "tensor 'transformer.wte.weight' holds +Inf"),
        ("logits that overflow", huge, ["--tokens", "3"], 1, "are not finite"),
    ]
    ok = True
    for name, model, args, code, said in cases:
        result = subprocess.run([generate, "--model", model, "--prompt", "1,2,3"] + args, capture_output=True,
                                text=True, timeout=600)
        if result.returncode != code or said not in result.stderr or "tokens:" in result.stdout:
            print(f"refusal '{name}': expected exit {code} and '{said}', got {result.returncode}:\n"
                  f"{result.stdout}{result.stderr}")
            ok = False
    print(f"refusals: {len(cases)} runs: {'ok' if ok else 'FAILED'}")
    return ok


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    generate, workdir = argv[1], argv[2]
    os.makedirs(workdir, exist_ok=True)
    wanted = [name for name in os.environ.get("T6_E2E_CASES", "").split(",") if name]
    unknown = set(wanted) - {case[0] for case in CASES}
    if unknown:
        print(f"T6_E2E_CASES names no case {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    cases = [case for case in CASES if not wanted or case[0] in wanted]
    results = [run_case(generate, workdir, *case) for case in cases] + [run_refusals(generate, workdir)]
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
