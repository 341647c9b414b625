"""Quality on labelled data, one configuration for all: dedup on FEBRL1, FEBRL2, FEBRL3 and the
sample catalog's planted duplicates, user recs on MovieLens-100k.

    python bench/quality.py [--datasets febrl1,febrl2,febrl3,sample,movielens] [--readme]

Each data set runs through ``pipelines demo --dataset NAME`` in its own lake under ``--work``
(default: a temp folder), with the demo's settings: the field list, no weights and no
thresholds set per data set. ``--readme`` writes the table into README.md between the
``quality-table`` markers. Ends with one JSON line: {"bench", "figures", "targets"}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEDUP_STAGES = ["embed-catalog", "validate-catalog", "neighbors", "dedup", "evaluate"]
DATASETS = ["febrl1", "febrl2", "febrl3", "sample", "movielens"]
MARKERS = ("<!-- quality-table:start -->", "<!-- quality-table:end -->")


def run_demo(dataset: str, work: Path, stages: list[str] | None) -> Path:
    """Run the demo in its own lake; the lake's reports folder."""
    folder = work / dataset
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "pipelines.toml"
    config.write_text(f'[lake]\nroot = "{folder / "lakehouse"}"\n[spark]\nmaster = "local[2]"\n')
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "demo",
        "--dataset",
        dataset,
        "--config",
        str(config),
        "--data-dir",
        str(folder / "data"),
    ]
    command += [f"--stage={stage}" for stage in stages or []]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{dataset}: the demo failed with exit code {done.returncode}")
    print(f"{dataset}: done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return folder / "data" / dataset / "lakehouse" / "reports"  # each dataset's own lake


def dedup_row(dataset: str, reports: Path) -> dict:
    report = json.loads((reports / "evaluate" / "dedup.json").read_text())
    model = json.loads((reports / "dedup" / "model.json").read_text())
    return {
        "data set": dataset,
        "records": report["items"],
        "true pairs": report["gold_pairs"],
        "precision": report["pairwise_precision"],
        "recall": report["pairwise_recall"],
        "F1": report["pairwise_f1"],
        "match share (EM)": round(model["match_share"], 4),
    }


def recs_rows(reports: Path) -> list[dict]:
    report = json.loads((reports / "evaluate" / "recs_users.json").read_text())
    return report["results"]


def _weight_of(method: str) -> float | None:
    found = re.search(r"w=([0-9.]+)", method)
    return float(found.group(1)) if found else None


def recs_figures(rows: list[dict]) -> dict:
    hr = {row["method"]: row["hr_at_k"] for row in rows}
    tuned = next(m for m in hr if m.startswith("tuned"))
    fixed = {m: v for m, v in hr.items() if m.startswith("blend (w=")}
    best = max(fixed, key=fixed.get)
    return {
        "popularity_hr": hr["popularity"],
        "tuned_hr": hr[tuned],
        "tuned_weight": _weight_of(tuned),
        "best_fixed_hr": fixed[best],
        "best_fixed_weight": _weight_of(best),
    }


def markdown(dedup: list[dict], recs: list[dict]) -> str:
    lines = []
    if dedup:
        columns = list(dedup[0])
        lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in dedup]
    if recs:
        lines += ["", "| MovieLens-100k user recs | HR@10 | NDCG@10 |", "| --- | --- | --- |"]
        lines += [f"| {r['method']} | {r['hr_at_k']:.4f} | {r['ndcg_at_k']:.4f} |" for r in recs]
    return "\n".join(lines)


def write_readme(table: str, command: str) -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = text.index(MARKERS[0]), text.index(MARKERS[1])
    body = f"{MARKERS[0]}\n<!-- written by: {command} -->\n{table}\n"
    readme.write_text(text[:start] + body + text[end:])


def targets(dedup: list[dict], recs: dict | None) -> dict:
    out = {}
    for row in dedup:
        name = row["data set"]
        if name.startswith("febrl"):
            out[f"{name}_f1"] = {"value": row["F1"], "target": ">= 0.95", "met": row["F1"] >= 0.95}
        else:
            both = min(row["precision"], row["recall"])
            out[f"{name}_precision_and_recall"] = {
                "value": both,
                "target": ">= 1.0",
                "met": both >= 1.0,
            }
    if recs:
        ratio = recs["tuned_hr"] / recs["popularity_hr"]
        gap = recs["best_fixed_hr"] - recs["tuned_hr"]
        out["movielens_tuned_over_popularity"] = {
            "value": round(ratio, 3),
            "target": ">= 2.0",
            "met": ratio >= 2.0,
        }
        out["movielens_tuned_below_best_fixed"] = {
            "value": round(gap, 4),
            "target": "<= 0.005",
            "met": gap <= 0.005,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--work", type=Path)
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    names = args.datasets.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = (args.work or Path(tmp)).resolve()
        dedup = [dedup_row(n, run_demo(n, work, DEDUP_STAGES)) for n in names if n != "movielens"]
        rows = recs_rows(run_demo("movielens", work, None)) if "movielens" in names else []
    recs = recs_figures(rows) if rows else None
    table = markdown(dedup, rows)
    print(table)
    if args.readme:
        write_readme(table, "python bench/quality.py --readme")
    figures = {"dedup": dedup, "movielens": recs}
    print(json.dumps({"bench": "quality", "figures": figures, "targets": targets(dedup, recs)}))


if __name__ == "__main__":
    main()
