#!/usr/bin/env python3
"""Offline compile gate: every kernel file of kernels_cl/ built for GPUs this machine does not have.

Each unit is a program of kernels_cl/programs.txt (its files joined by newlines, as lib/runtime/program.c assembles them;
named <program>.cl below), built with -cl-std=CL1.2:
  * at the file's own defaults (plus -DT6_PREFILL=1 where the file has a prefill variant, and, for NVIDIA only,
    the inline-PTX variants: T6_MMA=1 / T6_PTX=1);
  * at every bucket of every shipped GPU profile (profiles/*.json) of the target's vendor, on the files that
    name one of the bucket's parameters (as tests/check_shipped_profiles.cmake selects them).
Targets: AMD gfx90a, gfx940 (the MI300X stand-in), gfx1100 (clang-16 + rocm-device-libs), Intel dg2, pvc (ocloc,
unpacked, never installed), NVIDIA sm_80, sm_90 (clang-16 -> PTX with tuner/isa/nvptx_builtins.h -> ptxas).

Writes a table (kernel, target, registers, spills or scratch, local memory) to docs/PORTABILITY.md.
Exit 1 on a compile error, or on a spill in a GPU kernel at a shipped profile's parameters that
tests/offline_compile/known_spills.txt does not list; a missing compiler skips its targets (reported, exit 0).

  python3 tests/offline_compile/run.py [--out docs/PORTABILITY.md] [--work build/offline_compile] [--jobs N]

Tools: CLANG16 (default clang-16), ROCM_DEVICE_LIBS (default /usr/lib/x86_64-linux-gnu/amdgcn/bitcode),
OCLOC (default: ocloc on PATH, else /opt/t6-ocloc/usr/bin/ocloc; its libraries are found beside it),
PTXAS (default ptxas on PATH, else /usr/local/cuda/bin/ptxas). .ci/install-deps installs them.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Kernels the library runs on CPUs only (kernel 2): their spills are reported, never a failure.
CPU_KERNELS = {"t6_attention_vector", "t6_mha_decode_rows", "t6_mha_prefill_rows"}
AMD_LIBS = ["opencl", "ocml", "ockl", "oclc_daz_opt_off", "oclc_unsafe_math_off", "oclc_finite_only_off",
            "oclc_correctly_rounded_sqrt_off", "oclc_abi_version_400"]
# Intel's large register file: lib/ adds -cl-intel-256-GRF-per-thread (T6I_LARGE_GRF_OPTION) on GPUs that have it
# (DG2 and PVC do) to these kernels only, the ones that spill at 128 registers. Those files are built both ways
# for Intel; the gate judges the build the library does, and the table compares the two.
LARGE_GRF = "-cl-intel-256-GRF-per-thread"


def library_large_grf(name, kernel, defines):
    prefill = "-DT6_PREFILL=1" in defines
    return (name, kernel) in {("attention_decode.cl", "t6_attention_decode"), ("projection.cl", "t6_project_tiles"),
                              ("attention_mma.cl", "t6_attention_mma")} or \
        (name, kernel, prefill) == ("attention.cl", "t6_attention", True)


LARGE_GRF_FILES = {"attention_decode.cl", "projection.cl", "attention_mma.cl", "attention.cl"}  # attention.cl: prefill
TARGETS = [  # name, vendor, compiler
    ("gfx90a", "amd", "clang"), ("gfx940", "amd", "clang"), ("gfx1100", "amd", "clang"),
    ("dg2", "intel", "ocloc"), ("pvc", "intel", "ocloc"),
    ("sm_80", "nvidia", "ptxas"), ("sm_90", "nvidia", "ptxas")]


def find_tools():
    tools = {}
    clang = os.environ.get("CLANG16") or shutil.which("clang-16")
    libs = os.environ.get("ROCM_DEVICE_LIBS", "/usr/lib/x86_64-linux-gnu/amdgcn/bitcode")
    tools["clang"] = clang if clang and os.path.exists(os.path.join(libs, "ockl.bc")) else None
    tools["libs"] = libs
    ocloc = os.environ.get("OCLOC") or shutil.which("ocloc") or "/opt/t6-ocloc/usr/bin/ocloc"
    tools["ocloc"] = ocloc if os.path.exists(ocloc) else None
    ptxas = os.environ.get("PTXAS") or shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    tools["ptxas"] = ptxas if clang and os.path.exists(ptxas) else None
    why = {"clang": "clang-16 or rocm-device-libs (%s) missing" % libs,
           "ocloc": "ocloc missing (.ci/install-deps unpacks it to /opt/t6-ocloc)",
           "ptxas": "clang-16 or ptxas missing (the CUDA toolkit)"}
    return tools, why


def sources():
    """{"<program>.cl": its source} for every program of kernels_cl/programs.txt."""
    files = {}
    for line in open(os.path.join(ROOT, "kernels_cl", "programs.txt")):
        words = line.split("#")[0].split()
        if words:
            files[words[0] + ".cl"] = "\n".join(open(os.path.join(ROOT, "kernels_cl", w + ".cl")).read()
                                               for w in words[1:])
    return files


def jobs_for(target, vendor, files):
    """(file, label, defines, from_profile) for one target, deduplicated by what the file reads."""
    jobs, seen = [], set()

    def add(name, label, defines, from_profile):
        text = files[name]
        used = tuple(d for d in defines if d.split("=")[0][2:] in text)
        key = (name, used)
        if key not in seen:
            seen.add(key)
            jobs.append((name, label, list(used), from_profile))

    for name, text in files.items():
        add(name, "defaults", [], False)
        if "T6_PREFILL" in text:
            add(name, "defaults, prefill", ["-DT6_PREFILL=1"], False)
    if vendor == "nvidia":  # inline PTX: NVIDIA only (lib/ops/attention_decode.c and attention_mma.c probe for it)
        for dtype in (1, 2):
            add("attention_decode.cl", "PTX mma, dtype %d" % dtype, ["-DT6_MMA=1", "-DT6_CACHE_DTYPE=%d" % dtype,
                                                                  "-DT6_PTX=1"], False)
            add("attention_mma.cl", "PTX mma, dtype %d" % dtype, ["-DT6_MMA=1", "-DT6_CACHE_DTYPE=%d" % dtype], False)
            add("attention_mma.cl", "PTX mma prefill, dtype %d" % dtype,
                ["-DT6_PREFILL=1", "-DT6_MMA=1", "-DT6_CACHE_DTYPE=%d" % dtype], False)
            add("mha_mma.cl", "PTX mma, dtype %d" % dtype, ["-DT6_MMA=1", "-DT6_CACHE_DTYPE=%d" % dtype], False)
            add("mma_probe.cl", "PTX mma, dtype %d" % dtype, ["-DT6_MMA=1", "-DT6_CACHE_DTYPE=%d" % dtype], False)
    for path in sorted(glob.glob(os.path.join(ROOT, "profiles", "*.json"))):
        profile = json.load(open(path))
        device = profile.get("device", {})
        if device.get("normalized_vendor") != vendor or device.get("is_gpu") is False:
            continue
        for op, part in profile.get("ops", {}).items():
            for b, bucket in enumerate(part.get("buckets", [])):
                params = bucket.get("params", {})
                defines = (["-DT6_PREFILL=1"] if op == "prefill" else []) + \
                    ["-D%s=%s" % (k, v) for k, v in params.items()]
                label = "%s %s[%d]" % (os.path.basename(path)[:-5], op, b)
                for name, text in files.items():
                    if any(k in text for k in params):
                        mma = vendor == "nvidia" and name == "attention_decode.cl" and params.get("T6_DEC_MMA") == 1
                        add(name, label, defines + (["-DT6_MMA=1", "-DT6_CACHE_DTYPE=1", "-DT6_PTX=1"] if mma else []),
                            True)
    return jobs


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, errors="replace")
    return p.returncode, p.stdout


def compile_amd(tools, target, unit, defines, work):
    out = unit[:-3] + "." + target + ".s"
    links = []
    if target == "gfx1100":  # rocm-device-libs 5.2 has no oclc_isa_version_1100.bc: link gfx1036's
        for lib in AMD_LIBS + ["oclc_wavefrontsize64_off", "oclc_isa_version_1036"]:
            links += ["-Xclang", "-mlink-builtin-bitcode", "-Xclang", os.path.join(tools["libs"], lib + ".bc")]
        links = ["-nogpulib"] + links
    else:
        links = ["--rocm-device-lib-path=" + tools["libs"]]
    rc, log = run([tools["clang"], "-x", "cl", "-cl-std=CL1.2", "-target", "amdgcn-amd-amdhsa", "-mcpu=" + target,
                   "-Xclang", "-finclude-default-header", "-O3"] + links + defines + ["-S", "-o", out, unit])
    if rc != 0:
        return None, log
    text = open(out).read().replace("\t", " ")
    meta = text[text.find(".amdgpu_metadata"):text.find(".end_amdgpu_metadata")]
    results = []
    for block in re.split(r"\n  - \.", meta)[1:]:
        field = lambda key: int((re.search(r"\n    \.%s: *(\d+)" % key, "\n    ." + block) or [0, 0])[1])
        name = re.search(r"\n    \.name: *(\S+)", "\n    ." + block)
        if not name:
            continue
        results.append({"kernel": name.group(1), "registers": "%d VGPR" % field("vgpr_count"),
                        "spills": field("vgpr_spill_count") + field("sgpr_spill_count"),
                        "scratch": field("private_segment_fixed_size"),
                        "local": field("group_segment_fixed_size")})
    return results, log


def compile_intel(tools, target, unit, defines, work):
    out_dir = unit[:-3] + "." + target
    env = dict(os.environ)
    lib = os.path.join(os.path.dirname(os.path.dirname(tools["ocloc"])), "lib", "x86_64-linux-gnu")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    rc, log = run([tools["ocloc"], "compile", "-file", unit, "-device", target, "-options",
                   " ".join(["-cl-std=CL1.2"] + defines), "-out_dir", out_dir], env)
    if rc != 0 or "Build failed" in log:
        return None, log
    results = []
    kernels = re.findall(r"__kernel\s+(?:__attribute__\(\(.*?\)\)\s*)*void\s+(\w+)", open(unit).read())
    spilled = {}
    for m in re.finditer(r"kernel (\w+)\s+compiled SIMD(\d+) allocated (\d+) regs and spilled around (\d+)", log):
        spilled[m.group(1)] = (int(m.group(3)), int(m.group(4)), m.group(2))
    for m in re.finditer(r"compiled SIMD(\d+) allocated (\d+) regs and spilled around (\d+)", log):
        if not spilled:
            spilled["?"] = (int(m.group(2)), int(m.group(3)), m.group(1))
    for k in sorted(set(kernels)):
        regs, spills, simd = spilled.get(k, spilled.get("?", (None, 0, None)))
        results.append({"kernel": k, "registers": "%d GRF SIMD%s" % (regs, simd) if regs else "-",
                        "spills": spills, "scratch": 0, "local": None})
    return results, log


def compile_nvidia(tools, target, unit, defines, work):
    ptx = unit[:-3] + "." + target + ".ptx"
    rc, log = run([tools["clang"], "-target", "nvptx64-nvidia-nvcl", "-x", "cl", "-cl-std=CL1.2", "-O3", "-S",
                   "-march=" + target, "-Xclang", "-finclude-default-header", "-include",
                   os.path.join(ROOT, "tuner", "isa", "nvptx_builtins.h")] + defines + [unit, "-o", ptx])
    if rc != 0:
        return None, log
    rc, log2 = run([tools["ptxas"], "-arch=" + target, "-v", ptx, "-o", ptx[:-4] + ".cubin"])
    log += log2
    if rc != 0:
        return None, log
    results = []
    for part in log2.split("Compiling entry function '")[1:]:
        get = lambda pattern: int((re.search(pattern, part) or [0, 0])[1])
        results.append({"kernel": part.split("'")[0], "registers": "%d" % get(r"Used (\d+) registers"),
                        "spills": get(r"(\d+) bytes spill stores"), "scratch": get(r"(\d+) bytes stack frame"),
                        "local": get(r"(\d+) bytes smem")})
    return results, log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "PORTABILITY.md"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "offline_compile"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    start = time.time()
    tools, why = find_tools()
    files = sources()
    os.makedirs(args.work, exist_ok=True)
    units = {}
    for name, text in files.items():
        units[name] = os.path.join(args.work, "unit_" + name)
        with open(units[name], "w") as f:
            f.write(text)
    known = set()
    known_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_spills.txt")
    for line in open(known_path) if os.path.exists(known_path) else []:
        fields = line.split("#")[0].split()
        if len(fields) >= 2:
            known.add((fields[0], fields[1]))
    compilers = {"clang": compile_amd, "ocloc": compile_intel, "ptxas": compile_nvidia}
    tasks, skipped = [], []
    for target, vendor, compiler in TARGETS:
        if not tools[compiler]:
            skipped.append("%s: %s" % (target, why[compiler]))
            continue
        for name, label, defines, from_profile in jobs_for(target, vendor, files):
            both = vendor == "intel" and name in LARGE_GRF_FILES and \
                (name != "attention.cl" or "-DT6_PREFILL=1" in defines)
            for grf in ([[], [LARGE_GRF]] if both else [[]]):
                # one unit file per job, so that parallel builds do not share outputs
                tag = hashlib.sha1((target + name + " ".join(defines + grf)).encode()).hexdigest()[:10]
                unit = os.path.join(args.work, "%s-%s-%s" % (name[:-3], target, tag) + ".cl")
                shutil.copyfile(units[name], unit)
                tasks.append((target, compiler, name, label, defines + grf, from_profile, unit))

    def work(task):
        target, compiler, name, label, defines, from_profile, unit = task
        return task, compilers[compiler](tools, target, unit, defines, args.work)

    rows, failures, counts, grf_spills = [], [], {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for task, (results, log) in pool.map(work, tasks):
            target, compiler, name, label, defines, from_profile, unit = task
            large = LARGE_GRF in defines
            if results is not None and compiler == "ocloc" and name in LARGE_GRF_FILES:
                for r in results:
                    if library_large_grf(name, r["kernel"], defines):
                        grf_spills.setdefault((name, label, target, r["kernel"]), {})[large] = r
                # The library builds each kernel one way only: the other build is in the comparison alone.
                results = [r for r in results if library_large_grf(name, r["kernel"], defines) == large]
                if large:
                    label += ", 256 GRF"
            c = counts.setdefault(target, [0, 0, 0, 0])
            c[0] += 1
            over = re.search(r"uses too much shared data \((0x[0-9a-f]+) bytes, (0x[0-9a-f]+) max\)|local memory "
                             r"\((\d+)\) exceeds limit \((\d+)\)", log or "")
            if results is None and over:
                # The library fits tiles to the device's local memory (and checks CL_KERNEL_LOCAL_MEM_SIZE): a
                # file's defaults or a bucket's parameters away from the shape they were planned for can exceed it.
                need, limit = (int(over.group(1), 16), int(over.group(2), 16)) if over.group(1) else \
                    (int(over.group(3)), int(over.group(4)))
                c[3] += 1
                rows.append((name, label, target, "over local memory", "", "", "%d > %d" % (need, limit)))
                continue
            if results is None:
                c[1] += 1
                failures.append("%s %s (%s) %s: compile error\n%s" % (target, name, label, " ".join(defines),
                                                                      "\n".join(log.splitlines()[-15:])))
                rows.append((name, label, target, "**error**", "", "", ""))
                continue
            for r in results:
                spill = r["spills"] > 0 or r["scratch"] > 0
                if r["spills"] > 0:
                    c[2] += 1
                    if from_profile and r["kernel"] not in CPU_KERNELS and (target, r["kernel"]) not in known:
                        failures.append("%s %s (%s) %s: %s spills %d" % (target, name, label, " ".join(defines),
                                                                         r["kernel"], r["spills"]))
                if label.startswith("defaults") or label.startswith("PTX") or spill or from_profile:
                    rows.append((name, label, target, r["kernel"], r["registers"],
                                 "%d / %d" % (r["spills"], r["scratch"]),
                                 "-" if r["local"] is None else str(r["local"])))
    elapsed = time.time() - start
    write_table(args.out, rows, counts, skipped, failures, elapsed, tools, grf_spills)
    for s in skipped:
        print("offline_compile: SKIPPED %s" % s)
    for t, (n, errors, spills, over) in counts.items():
        print("offline_compile: %-8s %4d builds, %d errors, %d kernels with spills, %d over local memory" %
              (t, n, errors, spills, over))
    for f in failures:
        print("offline_compile: FAIL %s" % f, file=sys.stderr)
    print("offline_compile: %.0f s, table in %s" % (elapsed, os.path.relpath(args.out, ROOT)))
    return 1 if failures else 0


# Not compiled here: what .ci/run's steps on Mesa's rusticl found (kept with the other portability findings).
RUSTICL_NOTES = [
    "## Mesa's rusticl (llvmpipe), run by `.ci/run`", "",
    "Not an offline compile: `.ci/run` runs t6 on a second OpenCL driver, Mesa 22.3's rusticl on the CPU",
    "(`RUSTICL_ENABLE=llvmpipe T6_DEVICE=llvmpipe`): the self-test, two cases of the model end to end, check_runtime",
    "and check_materialized. t6 names it vendor `rusticl`, family `llvmpipe` (no GPU or PoCL profile reaches it).",
    "Measured there: CL_KERNEL_WORK_GROUP_SIZE is 32 for every kernel read, a trivial one too (the device says",
    "1024), and CL_KERNEL_LOCAL_MEM_SIZE is twice what a kernel declares (4096 B of `__local` read back as 8192),",
    "against 32 KiB; no fp64. The projection's kernels fit their plans to those reports (the tiles kernel halves its K",
    "chunk and its group, the rows kernel its lanes), so check_projection and check_model pass there, as do",
    "check_profile and check_decode_mma's fallback. Not yet: the GPU kernels that check_attention and check_mha",
    "force on every device (kernels 1 and 3, MHA kernels 1 and 3) plan groups of 256 work-items or local memory",
    "by the host's estimate, and llvmpipe refuses them (a clear status, nothing run). The kernels the library",
    "picks there by device type (it reports a CPU: kernel 2, the rows kernels) run and match the reference.", ""]


def write_table(out, rows, counts, skipped, failures, elapsed, tools, grf_spills):
    lines = ["# Kernels compiled offline for AMD, Intel and NVIDIA GPUs", "",
             "Written by `tests/offline_compile/run.py` (run by `.ci/run`); do not edit by hand. Every program of",
             "`kernels_cl/programs.txt` is built at its defaults (and its prefill and, on NVIDIA only, its",
             "inline-PTX variants) and at every bucket of every shipped GPU profile of the target's vendor. These are",
             "offline compilers: clang-16 + rocm-device-libs for AMD (gfx940 stands in for MI300X's gfx942; gfx1100",
             "links gfx1036's device library), Debian's ocloc for Intel, clang-16 -> PTX (`tuner/isa/nvptx_builtins.h`)",
             "-> ptxas for NVIDIA. Drivers compile with their own front ends, so registers can differ on the device.",
             "The gate fails on a compile error or on a GPU kernel's spill at a profile's parameters",
             "(`tests/offline_compile/known_spills.txt` lists accepted ones).", "",
             "A build over the target's local memory (ptxas: 48 KiB static, amdgcn: 64 KiB) is listed, not failed:",
             "the library fits tiles to the device, and refuses a kernel whose CL_KERNEL_LOCAL_MEM_SIZE is over it.", "",
             "| target | builds | compile errors | kernels with spills | over local memory |", "|---|---:|---:|---:|---:|"]
    for t, (n, errors, spills, over) in counts.items():
        lines.append("| %s | %d | %d | %d | %d |" % (t, n, errors, spills, over))
    for s in skipped:
        lines.append("| %s | skipped | | | |" % s)
    lines += ["", "Failures: %d. Run time %.0f s." % (len(failures), elapsed), ""]
    if grf_spills:
        lines += ["## Intel's large register file", "",
                  "On Intel GPUs that report DPAS through `cl_intel_device_attribute_query` (Xe-HPG such as DG2,",
                  "Xe-HPC such as PVC, Xe2), lib/ builds the kernels below with `%s` (256 registers" % LARGE_GRF,
                  "per thread instead of 128, half as many threads per EU): the kernels that spill at 128. Spills as",
                  "ocloc reports them (\"spilled around N\"), with the register count and SIMD width it chose; \"-\" is",
                  "no report, no spill. The table of every build below holds the library's (256 registers for these).",
                  "",
                  "| file | parameters | target | kernel | 128 GRF: registers | spills | 256 GRF: registers | spills |",
                  "|---|---|---|---|---:|---:|---:|---:|"]
        order = {t[0]: i for i, t in enumerate(TARGETS)}
        for key in sorted(grf_spills, key=lambda k: (k[0], k[1], order[k[2]], k[3])):
            small, large = grf_spills[key].get(False), grf_spills[key].get(True)
            cell = lambda r: ("%s | %d" % (r["registers"], r["spills"])) if r else "error | "
            lines.append("| %s | %s | %s | %s | %s | %s |" % (key + (cell(small), cell(large))))
        lines.append("")
    lines += RUSTICL_NOTES
    lines += ["## Every build", "", "Rows: every kernel at the defaults and at profile parameters, and any build that spills. Registers:",
              "VGPRs (AMD), GRF and SIMD width where the compiler reports it (Intel), registers per thread (NVIDIA).",
              "Spills / scratch: spilled registers (AMD VGPR+SGPR, Intel) or spill-store bytes (NVIDIA) / scratch or",
              "stack bytes per work-item. Local memory: bytes per group (Intel: not reported offline).", "",
              "| file | parameters | target | kernel | registers | spills / scratch | local memory (B) |",
              "|---|---|---|---|---:|---:|---:|"]
    order = {t[0]: i for i, t in enumerate(TARGETS)}
    for r in sorted(rows, key=lambda r: (r[0], r[1], order[r[2]], r[3])):
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % r)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
