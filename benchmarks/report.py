"""Turn ``results.json`` (see ``run.py``) into RESULTS.md and a bar chart."""

from __future__ import annotations

import statistics
from pathlib import Path

METRICS = (  # key, label, unit, higher is better
    ("train_ips", "training", "img/s", True),
    ("infer_ips", "inference (predict, batch)", "img/s", True),
    ("latency_ms", "single-image latency", "ms", False),
    ("rss_train_mb", "peak RSS while training", "MB", False),
)
#: The issue's targets for minicnn as a ratio to Keras: (key, comparison, bound).
TARGETS = (("train_ips", ">=", 1.0), ("infer_ips", ">=", 1.0), ("latency_ms", "<=", 0.5),
           ("rss_train_mb", "<=", 0.5))
STARTUP_TARGETS = (("fresh_s", "fresh numba cache", 10.0), ("warm_s", "warm numba cache", 2.0))
COLUMNS = ("framework", "size", "train img/s", "infer img/s", "latency ms", "peak RSS MB", "n")


def summarise(runs: list[dict]) -> dict[tuple[str, int], dict]:
    """Median, min and max of every metric per (framework, size)."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["framework"], r["size"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        row = {"n": len(rs), "version": rs[0].get("version"), "threads": rs[0].get("threads"),
               "padding": rs[0].get("padding"), "params": rs[0].get("params")}
        for metric, *_ in METRICS:
            values = [r[metric] for r in rs]
            row[metric] = statistics.median(values)
            row[metric + "_range"] = (min(values), max(values))
        out[key] = row
    return out


def _fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _cell(row: dict, metric: str) -> str:
    lo, hi = row[metric + "_range"]
    return _fmt(row[metric]) if row["n"] == 1 else f"{_fmt(row[metric])} ({_fmt(lo)}–{_fmt(hi)})"


def _threads(t: dict | None) -> str:
    if not t:
        return ""
    parts = [f"{k}={v}" for k, v in t.items() if k != "blas"]
    parts += [f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')} "
              f"x{b.get('num_threads')}" for b in t.get("blas", [])]
    return "; ".join(parts)


def results_table(summary: dict) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for (fw, size), row in sorted(summary.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"| {fw} | {size} | {_cell(row, 'train_ips')} | {_cell(row, 'infer_ips')} | "
                     f"{_cell(row, 'latency_ms')} | {_cell(row, 'rss_train_mb')} | {row['n']} |")
    return lines


def target_rows(summary: dict) -> list[dict]:
    """minicnn (and torch) against Keras, per size and metric, with the issue's targets."""
    rows = []
    sizes = sorted({size for _, size in summary})
    for size in sizes:
        keras = summary.get(("keras", size))
        if keras is None:
            continue
        for fw in ("minicnn", "torch"):
            mine = summary.get((fw, size))
            if mine is None:
                continue
            for metric, op, bound in TARGETS:
                ratio = mine[metric] / keras[metric]
                met = ratio >= bound if op == ">=" else ratio <= bound
                rows.append({"framework": fw, "size": size, "metric": metric,
                             "value": mine[metric], "keras": keras[metric], "ratio": ratio,
                             "target": f"{op} {bound}×", "met": met})
    return rows


def write_markdown(results: dict, path: Path | None = None) -> str:
    info = results["info"]
    m = info["machine"]
    summary = summarise(results["runs"])
    cfg = info["config"]
    sizes = {64, 128} if cfg.get("network", "catdog") == "catdog" else {128}
    full = (not cfg["quick"] and cfg["repeats"] >= 5 and set(cfg["sizes"]) >= sizes
            and "keras" in cfg["frameworks"] and not cfg.get("widths"))
    out = ["# minicnn benchmark results", ""]
    if cfg.get("network", "catdog") != "catdog":
        source = {"xception": "benchmarks/xception.py",
                  "residual": "minicnn.models.catdog_residual_network"}.get(cfg["network"], "")
        out += [f"Network: **{cfg['network']}** ({source}"
                f"{', widths ' + cfg['widths'] if cfg.get('widths') else ''}).", ""]
    if not full:
        out += ["> **Reduced configuration** (not the full run of issue #5): the numbers below",
                "> only show that the machinery works; `python benchmarks/run.py` gives real ones.",
                ""]
    cpus = m.get("usable_cpus") or m.get("logical_cpus") or 1
    # Only the load at the start says whether something else was running: by the end the
    # benchmark's own 2-thread children have raised the load average themselves.
    loads = [m.get("loadavg", [0])[0], info.get("loadavg_end", [0])[0]]
    if loads[0] > 0.25 * cpus:
        out += [f"> **Busy machine**: load average {loads[0]} at the start on {cpus} CPUs.",
                "> Parallel kernels wait on each other when cores are shared; these numbers",
                "> do not represent the library.", ""]
    out += [f"Command: `{info['command']}`, started {info['started']}, "
            f"took {info.get('duration_s', 0):.0f} s. Batch {cfg['batch']}, random data; "
            f"{cfg['repeats']} round(s), each framework in its own process per round, order "
            "rotated between rounds; each cell is the median (min–max) over rounds.", ""]
    blas_env = (", ".join(f"{k}={v}" for k, v in info["blas_env"].items() if v)
                or "none set of " + ", ".join(info["blas_env"]))
    out += ["## Machine", "", "| | |", "|---|---|",
            f"| CPU | {m.get('cpu_model')} |",
            f"| CPUs (logical / physical / usable) | {m.get('logical_cpus')} / "
            f"{m.get('physical_cores', '?')} / {m.get('usable_cpus', '?')} |",
            f"| memory | {m.get('memory_gb', '?')} GB |",
            f"| load average at start | {m.get('loadavg')} |",
            f"| load average at end | {info.get('loadavg_end')} |",
            f"| OS / Python | {m.get('platform')} / {m.get('python')} |",
            f"| threads requested (every pool) | {info['threads_requested']} |",
            f"| extra environment (--env) | {info.get('extra_env') or 'none'} |",
            f"| BLAS / threading environment | {blas_env} |", ""]
    out += ["## Versions and thread counts", "",
            "| package | version |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in info["versions"].items()]
    out += ["", "| framework | threads as the child process saw them |", "|---|---|"]
    seen = set()
    for (fw, _), row in sorted(summary.items()):
        if fw not in seen:
            seen.add(fw)
            out.append(f"| {fw} {row['version']} | {_threads(row['threads'])} |")
    out += ["", "## Throughput, latency, memory", ""]
    steps = cfg.get("steps", {})
    for size, st in steps.items():
        out.append(f"- {size} px: training = `fit` over {st['train_steps']} batches per timed "
                   f"epoch after one warm-up epoch; inference = `predict` over "
                   f"{st['infer_batches']} batches (median of {st['infer_repeats']}); latency = "
                   f"one image (median of {st['latency_calls']}); RSS = peak after training.")
    out += [""] + results_table(summary)
    rows = target_rows(summary)
    if rows:
        out += ["", "## Against Keras (issue #5 targets are for minicnn)", "",
                "| framework | size | metric | value | Keras | ratio | target | met |",
                "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            out.append(f"| {r['framework']} | {r['size']} | {r['metric']} | {_fmt(r['value'])} | "
                       f"{_fmt(r['keras'])} | {r['ratio']:.2f} | {r['target']} | "
                       f"{'yes' if r['met'] else '**no**'} |")
    st = results.get("startup")
    if st:
        out += ["", "## Startup (import minicnn + build + one train_on_batch, "
                f"{st['size']} px batch {st['batch']}, fresh interpreter)", "",
                "| numba cache | seconds | target | met |", "|---|---|---|---|"]
        for key, label, bound in STARTUP_TARGETS:
            out.append(f"| {label} | {st[key]:.2f} | <= {bound:.0f} s | "
                       f"{'yes' if st[key] <= bound else '**no**'} |")
        out.append(f"\nFresh: import {st['fresh']['import_s']:.2f} s, build + step "
                   f"{st['fresh']['build_and_step_s']:.2f} s (rest: interpreter start/exit).")
    for key, what in (("onnxruntime", "the shipped 128 px model"),
                      ("onnxruntime_residual", "the shipped residual 128 px model")):
        ort = results.get(key)
        if not ort:
            continue
        from benchmarks.onnxruntime_inference import report as ort_report

        r = ort["ratio"]
        out += ["", f"## Inference against onnxruntime ({what}, "
                f"{ort.get('model', 'catdog.npz')}, minicnn's own ONNX export)", "",
                "| | ratio, minicnn / onnxruntime | target | met |", "|---|---|---|---|",
                f"| batch-{ort['batch']} throughput | {r['batch_throughput_mc_over_ort']:.2f} | "
                f">= 1.0 | {'yes' if r['batch_throughput_mc_over_ort'] >= 1.0 else '**no**'} |",
                f"| one-image latency | {r['one_image_latency_mc_over_ort']:.2f} | <= 1.0 | "
                f"{'yes' if r['one_image_latency_mc_over_ort'] <= 1.0 else '**no**'} |",
                "", "```", ort_report(ort), "```"]
    busy = results.get("busy_core")
    if busy:
        from benchmarks.busy_core import report_lines

        out += ["", f"## Training with one core busy ({busy['size']} px, batch {busy['batch']}, "
                f"{busy['threads']} threads, a `while True: pass` process beside it; medians of "
                f"{busy['repeats']} alternating rounds)", "", *report_lines(busy)]
    sf = results.get("scipy_first")
    if sf:
        med = sf["medians"]
        out += ["", f"## Training with scipy imported first ({sf['size']} px, batch "
                f"{sf['batch']}, medians of {sf['repeats']} alternating rounds)", "",
                "| | without scipy | scipy first | ratio | target | met |",
                "|---|---|---|---|---|---|",
                f"| training img/s | {med['without scipy']['train_ips']:.1f} | "
                f"{med['scipy first']['train_ips']:.1f} | {sf['train_ratio']:.2f} | >= 0.95 | "
                f"{'yes' if sf['train_ratio'] >= 0.95 else '**no**'} |",
                f"| inference img/s | {med['without scipy']['infer_ips']:.1f} | "
                f"{med['scipy first']['infer_ips']:.1f} | {sf['infer_ratio']:.2f} | | |"]
    layers = results.get("layers")
    if layers:
        out += ["", "## minicnn per layer", ""] + layer_table(layers)
    text = "\n".join(out) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text


def layer_table(layers: list[dict]) -> list[str]:
    base = layers[0]
    routes = [lay["route"] for lay in layers]
    head = "| layer | " + " | ".join(
        f"{r} fwd ms | {r} fwd GFLOP/s | {r} bwd ms | {r} bwd GFLOP/s" for r in routes) + " |"
    lines = [f"{base['size']} px, batch {base['batch']}, each layer alone (forward with "
             f"training=True, then backward); median of {base.get('repeats', 5)} after one "
             f"warm-up. numpy sgemm "
             f"{base['sgemm_n']}³ float32 in the same process: **{base['sgemm_gflops']:.1f} "
             f"GFLOP/s**; numba threads {base['numba_threads']} "
             f"({base.get('numba_layer', '?')} layer); BLAS "
             f"{_threads({'blas': base['blas']})}.", "", head,
             "|---|" + "---|" * (4 * len(routes))]

    def g(v):
        return "" if v is None else f"{v:.1f}"

    for i, row in enumerate(base["rows"]):
        cells = []
        for lay in layers:
            r = lay["rows"][i]
            cells += [f"{r['fwd_ms']:.2f}", g(r["fwd_gflops"]), f"{r['bwd_ms']:.2f}",
                      g(r["bwd_gflops"])]
        lines.append(f"| {row['layer']} | " + " | ".join(cells) + " |")
    totals = []
    for lay in layers:
        f = sum(r["fwd_ms"] for r in lay["rows"])
        b = sum(r["bwd_ms"] for r in lay["rows"])
        mf = sum(r["fwd_mflop"] for r in lay["rows"])
        mb = sum(r["bwd_mflop"] for r in lay["rows"])
        totals += [f"{f:.1f}", f"{mf / f:.1f}", f"{b:.1f}", f"{mb / b:.1f}"]
    lines.append("| **total** | " + " | ".join(totals) + " |")
    mflop = sum(r["fwd_mflop"] for r in base["rows"]) / base["batch"]
    lines += ["", f"Forward: {mflop:.1f} MFLOP per image; layers alone sum to "
              f"{base['batch'] * 1000 / sum(r['fwd_ms'] + r['bwd_ms'] for r in base['rows']):.0f}"
              " img/s of forward+backward (no optimizer, loss or framework overhead)."]
    return lines


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(results["runs"])
    frameworks = sorted({fw for fw, _ in summary}, key=("minicnn", "keras", "torch").index)
    sizes = sorted({size for _, size in summary})
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.8))
    width = 0.8 / max(1, len(frameworks))
    for ax, (metric, label, unit, higher) in zip(axes, METRICS):
        for j, fw in enumerate(frameworks):
            xs = [i + (j - (len(frameworks) - 1) / 2) * width for i in range(len(sizes))]
            vals = [summary.get((fw, s), {}).get(metric, 0) for s in sizes]
            ax.bar(xs, vals, width, label=fw)
        ax.set_xticks(range(len(sizes)), [f"{s} px" for s in sizes])
        ax.set_title(f"{label}\n({unit}, {'higher' if higher else 'lower'} is better)",
                     fontsize=9)
    axes[0].legend(fontsize=8)
    m = results["info"]["machine"]
    fig.suptitle(f"cat-dog network, batch {results['info']['config']['batch']} — "
                 f"{m.get('cpu_model')}, {results['info']['threads_requested']} threads",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
