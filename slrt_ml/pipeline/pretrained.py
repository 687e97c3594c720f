"""The pretrained model shipped in ``models/``: built from the embedded synthetic registry.

``make model`` (:func:`build_pretrained`) trains the champion family (``pmt_ols``: the
simplest model within noise of the best on the demo registry) on ``data/`` with the
packaged default config and its fixed seed, compares it with SIKS-NG at equal coverage
(1,000 paired cluster-bootstrap replicates), and writes one folder that is at once

- a run folder ``slrt-ml score --model`` reads (``manifest.json``, ``models/pmt_ols/``,
  ``calibration.json``, ``conformal.json`` when training wrote one, ``feature_profile.json``,
  ``areas.parquet``, ``comparison.csv``);
- an MLflow model (``MLmodel``, the models-from-code file, environment files, input
  example), loadable with ``mlflow.pyfunc.load_model`` and scoring registry records;
- documented by a model card in English and Indonesian (``MODEL_CARD.md``,
  ``MODEL_CARD.id.md``, :mod:`slrt_ml.pipeline.model_card`).

The fitted model is data (skops with sha256, :mod:`slrt_ml.models.persistence`); scoring
with it runs no code from the folder. Rebuilding gives the same scores (every random state
comes from the config's seed); ``tests/test_pretrained.py`` checks it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from slrt_ml.config import Config, load_config
from slrt_ml.data.io import atomic_path
from slrt_ml.data.privacy import check_no_personal_data
from slrt_ml.pipeline.compare import compare_and_write
from slrt_ml.pipeline.model_card import LANGS, card_file_name, comparison_numbers, model_card
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest, write_json
from slrt_ml.pipeline.train import load_targeting_data, train
from slrt_ml.tracking_model import save_pyfunc

__all__ = ["MAX_BYTES", "PRETRAINED_FAMILY", "PRETRAINED_NAME", "build_pretrained", "folder_bytes"]

PRETRAINED_NAME = "pkh_synthetic"
PRETRAINED_FAMILY = "pmt_ols"
MAX_BYTES = 5 * 1024 * 1024
#: files of the training run kept in the shipped folder (besides ``models/<family>/``)
RUN_FILES = ("calibration.json", "conformal.json", "feature_profile.json", "areas.parquet",
             "comparison.csv", "example_households.parquet", "example_members.parquet")  # fmt: skip
TITLE = {"en": "{name} ({family}, synthetic South Sulawesi registry)",
         "id": "{name} ({family}, registri sintetis Sulawesi Selatan)"}  # fmt: skip


class PretrainedSizeError(ValueError):
    """The built folder is larger than the limit for a model kept in the repository."""


def folder_bytes(folder: str | Path) -> int:
    """Total size of the files under ``folder``, in bytes."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _train_and_compare(data_dir: Path, run: Path, config: Config, bootstrap: int) -> None:
    data = load_targeting_data(data_dir, config)
    train(data, run, config, progress=False)
    compare_and_write(run, data, quota=config.compare.quota, by=config.compare.by,
                      bootstrap=bootstrap, seed=config.seed, weight=config.compare.weight)  # fmt: skip


def _portable(path: str) -> str:
    """``path`` relative to the repository when inside it, else its file name.

    >>> _portable("/elsewhere/configs/mine.yaml")
    'mine.yaml'
    """
    root = Path(__file__).resolve().parents[2]
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def _assemble(run: RunFolder, stage: RunFolder, family: str, name: str) -> None:
    """Copy the run's files into ``stage``, make it an MLflow model and write the cards."""
    stage.root.mkdir(parents=True)
    shutil.copytree(run.model_dir(family), stage.model_dir(family))
    for file in RUN_FILES:
        if (run.root / file).is_file():
            shutil.copy2(run.root / file, stage.root / file)
    manifest = read_manifest(run.root)
    manifest.pop("git_commit", None)  # the folder is rebuilt by `make model`, not per commit
    if manifest["config"].get("source"):  # no path of the machine that built it
        manifest["config"]["source"] = _portable(manifest["config"]["source"])
    manifest["pretrained"] = {"name": name, "family": family, "built_by": "make model"}
    write_json(manifest, stage.manifest)
    save_pyfunc(stage, family)
    comparison = comparison_numbers(pd.read_csv(stage.comparison))
    for lang in LANGS:
        card = model_card(manifest, comparison, family, lang=lang,
                          title=TITLE[lang].format(name=name, family=family))  # fmt: skip
        with atomic_path(stage.root / card_file_name(lang)) as tmp:
            tmp.write_text(card, encoding="utf-8")


def build_pretrained(data_dir: str | Path = "data", out: str | Path = f"models/{PRETRAINED_NAME}",
                     *, family: str = PRETRAINED_FAMILY, bootstrap: int = 1000,
                     config: Config | None = None) -> Path:  # fmt: skip
    """Train, compare and write the pretrained model folder ``out`` (replaced if present).

    Parameters
    ----------
    data_dir : str or Path
        The registry to train on (default: the embedded synthetic sample ``data/``).
    out : str or Path
        The folder to write; built beside it under a temporary name, then renamed.
    family : str
        The model family (default ``pmt_ols``).
    bootstrap : int
        Paired cluster-bootstrap replicates of the card's intervals.
    config : Config, optional
        Default: the packaged config (its seed fixes every random state).

    Raises
    ------
    PretrainedSizeError
        When the folder would be over 5 MB (``MAX_BYTES``).
    """
    config = (config or load_config()).with_models([family])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp:
        run, stage = RunFolder(Path(tmp) / "run"), RunFolder(Path(tmp) / "stage")
        _train_and_compare(Path(data_dir), run.root, config, bootstrap)
        _assemble(run, stage, family, out.name)
        check_no_personal_data(stage.root, where=f"pretrained model {out}")
        size = folder_bytes(stage.root)
        if size > MAX_BYTES:
            raise PretrainedSizeError(
                f"{out}: the built model folder holds {size:,} bytes, over the {MAX_BYTES:,} "
                f"kept in the repository; choose a smaller family than {family!r}"
            )
        old = Path(tmp) / "old"
        if out.exists():
            out.rename(old)
        stage.root.rename(out)
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m slrt_ml.pipeline.pretrained [--data DIR] [--out DIR]`` (what ``make model`` runs)."""
    import argparse

    parser = argparse.ArgumentParser(description="Rebuild the pretrained model folder.")
    parser.add_argument("--data", default="data", help="registry folder (default: data)")
    parser.add_argument("--out", default=f"models/{PRETRAINED_NAME}", help="folder to write")
    args = parser.parse_args(argv)
    out = build_pretrained(args.data, args.out)
    print(f"pretrained model: {out} ({folder_bytes(out):,} bytes)")


if __name__ == "__main__":
    main()
