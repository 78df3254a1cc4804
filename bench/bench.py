#!/usr/bin/env python3
"""Tessera benchmark orchestrator: probes, peers and Tessera side by side in
one run, one table. Called by bench/run.sh (which installs and builds first).

    bench.py --bin-dir DIR --tessera-run PATH [--quick] [--threads N]
             [--doc docs/performance.md | --no-doc] [--only REGEX]
             [--tessera-cap SECONDS] [--command "..."]

Every row is the median of N repetitions after a warm-up, each process
measuring its own kernel time (no process start, no JIT compile, no data
generation). Results also go to bench/.out/results.json.
"""

import argparse
import datetime
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import shapes  # noqa: E402
import gen_mlir  # noqa: E402

PY = "/usr/bin/python3"  # Debian's python3: has python3-numpy and python3-torch
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
# jemalloc alone does not stop the page-fault storm: allocations >= 8 MiB go
# to its "huge" arena, which returns pages to the OS at once. Keep every
# freed page (no decay) and put big blocks in the normal arenas.
MALLOC_CONF = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------- settings

def peer_envs(threads):
    base = dict(os.environ)
    for var in ("LD_PRELOAD", "MALLOC_CONF", "OMP_WAIT_POLICY"):
        base.pop(var, None)
    t = str(threads)
    alloc = {}
    if os.path.exists(JEMALLOC):
        alloc = {"LD_PRELOAD": JEMALLOC, "MALLOC_CONF": MALLOC_CONF}
    blas = {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": t,
            "OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t}
    envs = {
        "numpy": {**blas, **alloc},
        "torch": {**blas, **alloc, "OMP_WAIT_POLICY": "PASSIVE"},
        # PASSIVE: on two shared cores a spinning OpenMP worker steals the
        # core its partner needs (oneDNN's many small expert GEMMs ran 2-5x
        # slower in median with the default or ACTIVE policy here).
        "onednn": {"OMP_NUM_THREADS": t, "OMP_WAIT_POLICY": "PASSIVE"},
        # libomp's default policy (spin for 200 ms, then sleep): with
        # PASSIVE every call pays for waking the sleeping worker, about
        # 0.2-0.4 ms here (Skv 4096 decode: 1.0 vs 1.38 ms, the MoE and
        # expert rows no slower), while a model's layers keep the pool warm.
        "tessera": {"OMP_NUM_THREADS": t},
    }
    full = {k: {**base, **v} for k, v in envs.items()}
    return envs, full


# --------------------------------------------------------------- runners

def run_json(cmd, env, timeout):
    """Runs a peer that prints one JSON object on its last stdout line."""
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout > {timeout:.0f} s"}
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["?"]
        return {"status": "error: " + tail[0][:120]}
    for line in reversed(p.stdout.strip().splitlines()):
        if line.startswith("{"):
            res = json.loads(line)
            res["status"] = "ok"
            return res
    return {"status": "error: no result"}


BENCH_RE = re.compile(r"bench: (\d+) runs, median ([\d.eE+-]+) ms, min ([\d.eE+-]+) ms")
TIME_RE = re.compile(r"^time: ([\d.eE+-]+) ms", re.M)


def run_tessera(tessera_run, mlir, entry, reps, cap, env, extra):
    """tessera-run --bench: compile, one run, a warm-up, then `reps` timed
    runs. On the time cap the first run's time is reported if it finished."""
    cmd = [tessera_run, mlir, f"--entry={entry}", "--random-inputs=1",
           f"--bench={reps}"] + extra
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.time()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                             text=True)
        try:
            rc = p.wait(timeout=cap)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        wall = time.time() - t0
        out.seek(0)
        text = out.read()
    m = BENCH_RE.search(text)
    if rc == 0 and m:
        return {"status": "ok", "ms_median": float(m.group(2)),
                "ms_min": float(m.group(3)), "reps": int(m.group(1)),
                "wall_s": wall}
    first = TIME_RE.search(text)
    if rc is None:
        if first:
            return {"status": f"1 run (cap {cap:.0f} s)",
                    "ms_median": float(first.group(1)),
                    "ms_min": float(first.group(1)), "reps": 1, "wall_s": wall}
        return {"status": f"timeout > {cap:.0f} s", "wall_s": wall}
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return {"status": "error: " + (lines[-1][:120] if lines else f"rc {rc}"),
            "wall_s": wall}


def tessera_extra_args(tessera_run, threads, env):
    """`--pipeline-options=threads=N` where this tessera-run has it."""
    try:
        help_text = subprocess.run([tessera_run, "--help"], capture_output=True,
                                   text=True, env=env, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    if "--pipeline-options" not in help_text:
        return []
    probe = os.path.join(HERE, "mlir", "attn_decode_4096.mlir")
    arg = f"--pipeline-options=threads={threads}"
    try:
        # An option the pipeline does not know fails before the run.
        ok = subprocess.run([tessera_run, probe, "--entry=attn_decode_4096",
                             "--random-inputs=1", arg], capture_output=True,
                            env=env, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        ok = True
    return [arg] if ok else []


# --------------------------------------------------------------- rows

def build_rows(args):
    """(group, op, shape, dtype, impl, kind, flop, bytes, runner spec)."""
    rows = []
    P = shapes.PREFILL
    pre = ("attn_prefill", "attention prefill (causal GQA)",
           f"B{P['B']} Hq{P['Hq']}/Hkv{P['Hkv']} S{P['S']} D{P['D']}")
    rows += [(pre, "f32", impl, "flop", shapes.prefill_flop(P), 0.0)
             for impl in ("numpy", "torch", "tessera")]
    for p in shapes.DECODE:
        g = (f"attn_decode_{p['Skv']}", "attention decode (GQA)",
             f"Hq{p['Hq']}/Hkv{p['Hkv']} Sq1 Skv{p['Skv']} D{p['D']}")
        rows += [(g, "f32", impl, "bw", shapes.decode_flop(p),
                  shapes.decode_bytes(p)) for impl in ("numpy", "torch", "tessera")]
    M = shapes.MLA
    g = ("mla_decode", "MLA decode (absorbed)",
         f"H{M['H']} L{M['L']} R{M['R']} Sq1 Skv{M['Skv']}")
    rows += [(g, "f32", impl, "flop", shapes.mla_flop(M), shapes.mla_bytes(M))
             for impl in ("numpy", "torch", "tessera")]
    for key, m in shapes.MOE.items():
        counts = shapes.routing_counts(m)
        sh = (f"T{m['T']} d{m['d']} f{m['f']} E{m['E']} k{m['k']}")
        ex = (f"experts_{key}", f"expert GEMMs, {m['name']}",
              f"{sh}; rows/expert {min(counts)}..{max(counts)}")
        dn = (f"dense_{key}", f"dense-equivalent GEMM, {m['name']}",
              f"[{m['T'] * m['k']}x{m['d']}].[{m['d']}x{2 * m['f']}] + "
              f"[{m['T'] * m['k']}x{m['f']}].[{m['f']}x{m['d']}]")
        fl = shapes.expert_flop(m)
        for dtype in ("f32", "bf16"):
            impls = (("numpy",) if dtype == "f32" else ()) + ("torch", "onednn", "tessera")
            rows += [((ex[0] + "_" + dtype,) + ex[1:], dtype, impl, "flop", fl, 0.0)
                     for impl in impls]
            impls = (("numpy",) if dtype == "f32" else ()) + ("torch", "onednn")
            rows += [((dn[0] + "_" + dtype,) + dn[1:], dtype, impl, "flop", fl, 0.0)
                     for impl in impls]
        g = (f"moe_{key}", f"MoE layer, {m['name']}", sh + (
            ", renormalized" if m["normalize"] else ""))
        rows += [(g, "f32", impl, "flop", shapes.moe_flop(m), 0.0)
                 for impl in ("numpy", "torch", "tessera")]
    if args.only:
        rx = re.compile(args.only)
        rows = [r for r in rows if rx.search(r[0][0] + ":" + r[2])]
    return rows


def run_row(row, args, envs, extra, tessera_run):
    (case, _, _), dtype, impl, kind, _, _ = row
    reps, tessera_reps = args.reps, args.tessera_reps
    # Bandwidth rows (decode) run cold: every implementation finds K and V in
    # memory, as a decode step does after the other layers ran. Their calls
    # take milliseconds and the shared memory bus is the noisiest resource:
    # at least 30 timed calls each.
    cold = ["--cold"] if kind == "bw" else []
    if cold and not args.quick:
        reps, tessera_reps = max(reps, 30), max(tessera_reps, 30)
    if impl in ("numpy", "torch"):
        return run_json([PY, os.path.join(HERE, "peers", "py_peers.py"),
                         f"--lib={impl}", f"--case={case}", f"--reps={reps}",
                         f"--threads={args.threads}"] + cold, envs[impl],
                        args.peer_cap)
    if impl == "onednn":
        kind, key, dt = case.split("_")
        m = shapes.MOE[key]
        counts = shapes.routing_counts(m) if kind == "experts" else [m["T"] * m["k"]]
        return run_json([os.path.join(args.bin_dir, "onednn_experts"),
                         f"--dtype={dt}", f"--d={m['d']}", f"--f={m['f']}",
                         "--rows=" + ",".join(map(str, counts)), f"--reps={reps}"],
                        envs["onednn"], args.peer_cap)
    if impl == "tessera":
        if not tessera_run:
            return {"status": "no tessera-run"}
        mlir = os.path.join(args.mlir_dir, case + ".mlir")
        return run_tessera(tessera_run, mlir, case, tessera_reps,
                           args.tessera_cap, envs["tessera"],
                           extra + (["--bench-cold"] if cold else []))
    raise ValueError(impl)


# --------------------------------------------------------------- table

IMPL_NAMES = {"numpy": "numpy", "torch": "PyTorch", "onednn": "oneDNN",
              "tessera": "Tessera"}


def fmt(x, nd=1):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.{nd}f}"
    return f"{x:.{nd + 1}f}" if x >= 1 else f"{x:.3g}"


def make_table(results, peaks):
    fp32 = peaks.get(("fp32_fma", 2))
    bf16 = peaks.get(("bf16_dot", 2))
    bw = peaks.get(("read_bw", 2))
    best = {}
    for r in results:
        if r["impl"] != "tessera" and r.get("ms_median"):
            key = r["case"]
            best[key] = min(best.get(key, float("inf")), r["ms_median"])
    lines = ["| op | shape | dtype | impl | median ms | min ms | GFLOP/s | GB/s | "
             "% of peak | vs best peer | note |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    prev = None
    for r in results:
        ms = r.get("ms_median")
        gfs = r["flop"] / ms / 1e6 if ms else None
        gbs = r["bytes"] / ms / 1e6 if ms and r["bytes"] else None
        if r["kind"] == "bw":
            frac = gbs / bw if gbs and bw else None
            frac_s = f"{100 * frac:.1f}% bw" if frac is not None else "–"
        else:
            pk = bf16 if r["dtype"] == "bf16" else fp32
            frac = gfs / pk if gfs and pk else None
            frac_s = (f"{100 * frac:.1f}% {'bf16' if r['dtype'] == 'bf16' else 'fma'}"
                      if frac is not None else "–")
        vs = best.get(r["case"])
        vs_s = f"{vs / ms:.3g}×" if ms and vs else "–"
        note = "" if r["status"] == "ok" else r["status"]
        op, shape = (r["op"], r["shape"]) if r["case"] != prev else ("″", "″")
        prev = r["case"]
        lines.append(f"| {op} | {shape} | {r['dtype']} | {IMPL_NAMES[r['impl']]} | "
                     f"{fmt(ms, 2) if ms else '–'} | {fmt(r.get('ms_min'), 2)} | {fmt(gfs)} | {fmt(gbs)} | "
                     f"{frac_s} | {vs_s} | {note} |")
    return "\n".join(lines)


def probe_table(peaks):
    rows = ["| probe | 1 thread | 2 threads |", "|---|---:|---:|"]
    for name, label, unit in (("fp32_fma", "fp32 FMA (zmm vfmadd231ps)", "GFLOP/s"),
                              ("bf16_dot", "bf16 dot (zmm vdpbf16ps)", "GFLOP/s"),
                              ("read_bw", "read bandwidth (512 MiB sum)", "GB/s")):
        a, b = peaks.get((name, 1)), peaks.get((name, 2))
        if a is None and b is None:
            rows.append(f"| {label} | {peaks.get((name, 'skipped'), 'skipped')} | |")
        else:
            rows.append(f"| {label} | {fmt(a)} {unit} | {fmt(b)} {unit} |")
    return "\n".join(rows)


def settings_text(envs, extra, tessera_run, threads, numpy_info, torch_info):
    def env_s(d):
        return ", ".join(f"`{k}={v}`" for k, v in d.items() if k != "MKL_NUM_THREADS")
    blas = [l for l in (numpy_info or {}).get("libs", []) if "blas" in l]
    lines = [
        f"- numpy {numpy_info.get('numpy', '?') if numpy_info else '?'} "
        f"(BLAS at run time: {', '.join(blas) or '?'}): {env_s(envs['numpy'])}.",
        f"- PyTorch {torch_info.get('torch', '?') if torch_info else '?'} "
        f"(Debian python3-torch, `torch.set_num_threads({threads})`, no grad): "
        f"{env_s(envs['torch'])}.",
        f"- oneDNN 2.6 (libdnnl-dev) `dnnl::matmul`, weights `format_tag::any` "
        f"reordered once before timing, f32 out: {env_s(envs['onednn'])}.",
        f"- Tessera `{os.path.relpath(tessera_run, ROOT) if tessera_run else '-'} "
        f"--random-inputs=1 --bench=N {' '.join(extra)}`: {env_s(envs['tessera'])}.",
        "- Decode rows (bandwidth) run cold for every implementation: 128 MiB "
        "are read, untimed, before each timed run (`--cold`, `--bench-cold`), "
        "so K and V come from memory.",
    ]
    return "\n".join(lines)


def write_doc(path, block):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    text = open(path).read() if os.path.exists(path) else (
        "# Performance\n\n" + begin + "\n" + end + "\n")
    if begin not in text:
        text += "\n" + begin + "\n" + end + "\n"
    pre, rest = text.split(begin, 1)
    post = rest.split(end, 1)[1] if end in rest else ""
    with open(path, "w") as fh:
        fh.write(pre + begin + "\n" + block.rstrip() + "\n" + end + post)


# --------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--tessera-run", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int)
    ap.add_argument("--tessera-reps", type=int)
    ap.add_argument("--tessera-cap", type=float)
    ap.add_argument("--peer-cap", type=float, default=900)
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "performance.md"))
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--only", help="regex over 'case:impl' to run a subset")
    ap.add_argument("--command", default="bash bench/run.sh")
    args = ap.parse_args()
    if args.quick:
        # Smaller shapes (shapes.py), also for the peer processes.
        os.environ["TESSERA_BENCH_QUICK"] = "1"
        importlib.reload(shapes)
    if args.reps is None:
        args.reps = 3 if args.quick else 10
    if args.tessera_reps is None:
        args.tessera_reps = 1 if args.quick else 5
    if args.tessera_cap is None:
        args.tessera_cap = 20 if args.quick else 120
    out_dir = os.path.join(HERE, ".out")
    os.makedirs(out_dir, exist_ok=True)
    args.mlir_dir = os.path.join(out_dir, "mlir-quick") if args.quick else os.path.join(HERE, "mlir")
    os.makedirs(args.mlir_dir, exist_ok=True)
    for stem, _, text in gen_mlir.entries():
        path = os.path.join(args.mlir_dir, stem + ".mlir")
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as fh:
                fh.write(text)

    started = time.time()
    model = "?"
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    flags = open("/proc/cpuinfo").read()
    isa = " ".join(f for f in ("avx512f", "avx512_bf16") if f in flags)
    machine = f"{model}, {os.cpu_count()} vCPUs ({isa}), {args.threads} threads used"

    envs, full_envs = peer_envs(args.threads)
    tessera_run = args.tessera_run if args.tessera_run and os.path.exists(args.tessera_run) else ""
    extra = tessera_extra_args(tessera_run, args.threads, full_envs["tessera"]) if tessera_run else []

    # 1. Probes.
    log("== probes")
    peaks = {}
    cmd = [os.path.join(args.bin_dir, "peak")] + (["--quick"] if args.quick else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        d = json.loads(line)
        if "skipped" in d:
            peaks[(d["probe"], "skipped")] = "skipped: " + d["skipped"]
            continue
        peaks[(d["probe"], d["threads"])] = d.get("gflops", d.get("gbs"))
    log(probe_table(peaks))

    # 2. Rows.
    results = []
    numpy_info = torch_info = None
    for row in build_rows(args):
        (case, op, shape), dtype, impl, kind, flop, nbytes = row
        log(f"== {case} {dtype} {impl}")
        res = run_row(row, args, full_envs, extra, tessera_run)
        info = res.pop("info", None)
        if impl == "numpy" and info and not numpy_info:
            numpy_info = info
        if impl == "torch" and info and not torch_info:
            torch_info = info
        results.append({"case": case, "op": op, "shape": shape, "dtype": dtype,
                        "impl": impl, "kind": kind, "flop": flop, "bytes": nbytes,
                        **res})
        log(f"   {res.get('status')} {res.get('ms_median', '')}")

    table = make_table(results, peaks)
    elapsed = time.time() - started
    date = datetime.date.today().isoformat()
    mode = "quick (smoke test)" if args.quick else "full"
    block = "\n".join([
        f"Run: **{date}**, `{args.command}` ({mode}), {elapsed / 60:.1f} min.",
        f"Machine: {machine}.",
        f"Repetitions: peers and oneDNN median of {args.reps} after a warm-up; "
        f"Tessera median of {args.tessera_reps} after a warm-up, capped at "
        f"{args.tessera_cap:.0f} s per row (compile included)"
        + ("; decode (bandwidth) rows: at least 30 cold calls for every "
           "implementation." if not args.quick else "."),
        "",
        "Measured peaks (median of repeated probes, same run):",
        "",
        probe_table(peaks),
        "",
        "Peer settings in this run:",
        "",
        settings_text(envs, extra, tessera_run, args.threads, numpy_info, torch_info),
        "",
        table,
    ])
    print()
    print(block)
    with open(os.path.join(out_dir, "results.json"), "w") as fh:
        json.dump({"date": date, "machine": machine, "command": args.command,
                   "quick": args.quick,
                   "peaks": {f"{k[0]}@{k[1]}": v for k, v in peaks.items()},
                   "settings": envs, "tessera_args": extra, "rows": results},
                  fh, indent=1)
    with open(os.path.join(out_dir, "results-quick.md" if args.quick else "results.md"), "w") as fh:
        fh.write(block + "\n")
    if not args.no_doc and not args.quick:
        write_doc(args.doc, block)
        log(f"wrote {os.path.relpath(args.doc, ROOT)}")


if __name__ == "__main__":
    main()
