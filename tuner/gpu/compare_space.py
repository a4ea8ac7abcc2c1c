"""Compares the default strategy with the exhaustive search of one space (tuner/gpu/reproduce.sh tune-space).

Reads, in the folder given: exhaustive.jsonl (every configuration's search-phase median), local.json/.jsonl (a
run of the default strategy of its own), replay-<seed>.json (the default strategy replayed on the exhaustive
measurements). Prints how far each winner is from the exhaustive optimum, as the exhaustive run measured both.
"""
import glob
import json
import sys


def results(path, phase):
    out = {}
    for line in open(path):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("event") == "result" and o.get("phase") == phase and o.get("status") == "ok":
            out[o["config"]] = o["median_ns"]
    return out


def winner(path):
    bucket = json.load(open(path))["ops"]["decode"]["buckets"][0]
    return bucket["params"], bucket["evaluations"]


def config_of(params, configs):
    for c in configs:
        if all(params.get(k) == int(v) for k, v in (kv.split("=") for kv in c.split())):
            return c
    return None


def main(logs):
    ex = results(f"{logs}/exhaustive.jsonl", 0)
    best = min(ex, key=ex.get)
    print(f"exhaustive: {len(ex)} configurations ran, optimum {ex[best] / 1e3:.2f} us: {best}")
    ex_re, lo_re = results(f"{logs}/exhaustive.jsonl", 1), results(f"{logs}/local.jsonl", 1)
    if ex_re and lo_re:
        ratio = min(lo_re.values()) / min(ex_re.values()) - 1
        print(f"own runs, winners re-timed: exhaustive {min(ex_re.values()) / 1e3:.2f} us, default strategy "
              f"{min(lo_re.values()) / 1e3:.2f} us ({100 * ratio:+.2f}%)")
    params, evaluations = winner(f"{logs}/local.json")
    c = config_of(params, ex)
    if c:
        print(f"own run's winner ({evaluations} evaluations) as the exhaustive run measured it: "
              f"{100 * (ex[c] / ex[best] - 1):+.2f}% over the optimum")
    for path in sorted(glob.glob(f"{logs}/replay-*.json"), key=lambda p: int(p.rsplit("-", 1)[1][:-5])):
        params, evaluations = winner(path)
        c = config_of(params, ex)
        seed = path.rsplit("-", 1)[1][:-5]
        print(f"replay seed {seed:>2}: {evaluations} evaluations, {100 * (ex[c] / ex[best] - 1):+.2f}% over the "
              f"optimum: {c}")


if __name__ == "__main__":
    main(sys.argv[1])
