"""What crashed runs and Great Expectations leave outside the tables."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pipelines.io.workdirs import sweep_workdirs

# a validation still building its site is younger than this
GX_SITE_MIN_AGE_S = 3600.0
GX_SITE_MARKERS = ("index.html", "static/styles/data_docs_default_styles.css")


def sweep_work(root: Path) -> list[Path]:
    """Working folders under ``<root>/_work`` (and the folders directly in it) whose owner died."""
    work = Path(root) / "_work"
    if not work.is_dir():
        return []
    parents = [work, *sorted(p for p in work.iterdir() if p.is_dir())]
    return [folder for parent in parents for folder in sweep_workdirs(parent)]


def sweep_gx_temp_sites(tmp: Path, min_age_s: float = GX_SITE_MIN_AGE_S) -> list[Path]:
    """Remove the Data Docs sites GX's ephemeral context built in ``tmp`` (the temp folder)
    before ``run_suite`` removed its own, or in a run killed mid-way: our ``tmp*`` folders
    holding a GX site, untouched for ``min_age_s``."""
    cutoff = time.time() - min_age_s
    removed = []
    for folder in sorted(Path(tmp).glob("tmp*")):
        if _stale_gx_site(folder, cutoff):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _stale_gx_site(folder: Path, cutoff: float) -> bool:
    try:
        stat = folder.stat()
        ours = folder.is_dir() and stat.st_uid == os.getuid() and stat.st_mtime < cutoff
        return ours and all((folder / marker).is_file() for marker in GX_SITE_MARKERS)
    except OSError:  # another user's folder, or one removed meanwhile
        return False
