"""`--mapping YAML [--table FILE]`: train, compare, explain and score any household table."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.mapping import MappingError, load_mapping, mapping_digest
from slrt_ml.pipeline.score_table import score_table
from slrt_ml.pipeline.train import load_mapped_data

runner = CliRunner()

MAPPING = {
    "name": "village_survey",
    "id": "hh_id",
    "cluster": "village",
    "weight": "members",
    "label": "poor",
    "reference": {"name": "scorecard", "score": "pmt_score"},
    "slices": {"female_head": "female_head", "tenure": "tenure"},
    "features": {
        "numeric": ["rooms", "members"],
        "categorical": ["roof", "tenure"],
        "binary": ["has_tv", "female_head"],
    },
}
CONFIG = {"models": ["pmt_ols", "logit"], "cv": {"folds": 3}, "seed": 1,
          "compare": {"bootstrap": 20}, "tracking": {"enabled": False}}  # fmt: skip


def _survey(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """~300 households in 15 villages; poverty depends on rooms, TV, roof and size."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 6, n)
    tv = rng.integers(0, 2, n)
    roof = rng.choice(["zinc", "tile", "thatch"], n)
    members = rng.integers(1, 8, n)
    latent = 1.0 - 0.6 * rooms - 0.8 * tv + 0.7 * (roof == "thatch") + 0.2 * members
    latent = latent + rng.normal(0, 0.7, n)
    return pd.DataFrame({
        "hh_id": [f"H{i:04d}" for i in range(n)],
        "village": [f"V{i:02d}" for i in np.arange(n) % 15],
        "members": members,
        "poor": (latent > np.quantile(latent, 0.7)).astype(int),
        "pmt_score": latent + rng.normal(0, 1.0, n),  # a noisier ranking of the same latent
        "rooms": rooms,
        "roof": roof,
        "tenure": rng.choice(["own", "rent"], n),
        "has_tv": np.where(tv == 1, "yes", "no"),
        "female_head": rng.integers(0, 2, n),
    })  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mapped")
    _survey().to_csv(root / "survey.csv", index=False)
    (root / "survey.yaml").write_text(yaml.safe_dump({**MAPPING, "table": "survey.csv"}))
    (root / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return {"root": root, "table": root / "survey.csv", "mapping": root / "survey.yaml",
            "config": root / "config.yaml", "run": root / "run"}  # fmt: skip


def _ok(args: list[str]):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _flat(text: str) -> str:
    """CLI output without rich's line wrapping and box drawing."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture(scope="module")
def trained(project) -> dict[str, Path]:
    _ok(["train", "--mapping", project["mapping"], "--table", project["table"], "--out",
         project["run"], "--config", project["config"], "--no-track"])  # fmt: skip
    return project


def test_train_with_a_mapping_records_the_mapping_in_the_manifest(trained):
    run = trained["run"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["models"] == ["pmt_ols", "logit"]
    assert manifest["reference_system"] == "scorecard"
    dataset = manifest["dataset"]
    assert dataset["mapping"] == str(trained["mapping"])
    assert dataset["mapping_digest"] == mapping_digest(load_mapping(trained["mapping"]))
    assert dataset["n_households"] == 300
    assert dataset["columns"] == ["rooms", "members", "roof", "tenure", "has_tv", "female_head"]
    oof = pd.read_parquet(run / "oof_scores.parquet")
    assert oof["IDBDT"].tolist() == _survey()["hh_id"].tolist()
    assert {"models/pmt_ols", "models/logit"} <= {
        str(p.relative_to(run)) for p in (run / "models").iterdir()
    }


def test_compare_with_the_mapping_writes_the_report_against_the_reference(trained):
    # --table left out: the mapping's own `table` is the default
    _ok(["compare", "--run", trained["run"], "--mapping", trained["mapping"], "--bootstrap",
         "20", "--config", trained["config"], "--no-track"])  # fmt: skip
    table = pd.read_csv(trained["run"] / "comparison.csv")
    assert set(table["system"]) >= {"scorecard", "pmt_ols", "logit"}
    selections = pd.read_parquet(trained["run"] / "selections.parquet")
    counts = selections.groupby("system")["selected"].sum()
    # equal coverage: every model selects as many as the reference, which selects the
    # poor share (90 of 300) of its own score
    assert counts.to_dict() == {"scorecard": 90, "pmt_ols": 90, "logit": 90}
    assert (trained["run"] / "report.html").is_file()
    assert "exclusion_error_diff_vs_scorecard" in set(table["metric"])


def test_compare_refuses_a_table_other_than_the_one_trained_on(trained):
    other = _survey(seed=8)
    other.to_csv(trained["root"] / "other.csv", index=False)
    result = runner.invoke(app, ["compare", "--run", str(trained["run"]), "--mapping",
                                 str(trained["mapping"]), "--table",
                                 str(trained["root"] / "other.csv"), "--no-track"])  # fmt: skip
    assert result.exit_code == 1
    assert "digest" in _flat(result.output) and "Traceback" not in result.output


def test_explain_with_the_mapping_writes_reasons_for_the_asked_households(trained):
    out = trained["root"] / "explained.csv"
    _ok(["explain", "--run", trained["run"], "--mapping", trained["mapping"], "--households",
         "H0001,H0002", "--model", "logit", "--top-k", "3", "--out", out])  # fmt: skip
    reasons = pd.read_csv(trained["root"] / "explained.reasons.csv")
    assert len(reasons) == 2
    assert {"score", "reason_1", "reason_3"} <= set(reasons.columns)
    tidy = pd.read_csv(out)
    assert set(tidy["IDBDT"]) == {"H0001", "H0002"} and set(tidy["model"]) == {"logit"}


def test_score_with_the_mapping_scores_valid_rows_and_rejects_the_rest(trained):
    table = _survey(n=60, seed=9)
    table["hh_id"] = [f"N{i:03d}" for i in range(60)]
    table["rooms"] = table["rooms"].astype(object)
    table.loc[3, "rooms"] = "many"  # not a number
    table.loc[5, "has_tv"] = "maybe"  # not 0/1 or yes/no
    table.loc[7, "hh_id"] = "N008"  # N008 twice: both rows rejected
    new = trained["root"] / "new.csv"
    table.drop(columns=["poor", "pmt_score"]).to_csv(new, index=False)  # no label needed
    out = trained["root"] / "scored.csv"
    result = _ok(["score", "--model", trained["run"], "--model-name", "logit", "--mapping",
                  trained["mapping"], "--table", new, "--out", out, "--explain",
                  "--quota-share", "0.3", "--no-track"])  # fmt: skip
    assert "input 60 = scored 56 + rejected 4" in _flat(result.output)
    scored = pd.read_csv(out)
    assert scored.columns.tolist()[:6] == ["hh_id", "prob_poor", "percentile_in_area",
                                           "rank_in_area", "selected", "priority_in_area"]  # fmt: skip
    assert {"reason_1", "reason_5"} <= set(scored.columns)
    rejects = pd.read_csv(trained["root"] / "scored.rejects.csv")
    reasons = dict(zip(rejects["hh_id"], rejects["reason"], strict=True))
    assert reasons["N003"] == "rooms: not a number (many)"
    assert reasons["N005"] == "has_tv: not 0/1 or yes/no (maybe)"
    assert reasons["N008"] == "hh_id: repeated id (N008)"
    assert len(rejects) == 4
    assert sorted(scored["priority_in_area"]) == list(range(1, 57))
    assert scored["selected"].sum() == round(0.3 * 56)


def test_score_table_selects_the_top_of_each_cluster_at_its_quota(trained):
    from slrt_ml.pipeline.score import load_scoring_models

    models, _, _ = load_scoring_models(trained["run"], model_names=["pmt_ols", "logit"])
    table = _survey(n=90, seed=10)
    result = score_table(table, trained["mapping"], models, trained["root"] / "s.parquet",
                         quota=0.2, by="KDDESA")  # fmt: skip
    assert (result.n_input, result.n_scored, result.n_rejected) == (90, 90, 0)
    scored = pd.read_parquet(result.output).merge(table[["hh_id", "village"]], on="hh_id")
    assert "score_logit" in scored.columns  # the second model's score is shown, no vote
    # 0.2 * 90 = 18 over 15 villages of 6: 1.2 each -> 1 each, the 3 places left go to the
    # equal remainders in code order: V00, V01 and V02 take 2
    for name, village in scored.groupby("village"):
        ranks = village.sort_values("margin", ascending=False)["rank_in_area"]
        assert ranks.tolist() == list(range(1, len(village) + 1))
        quota = 2 if name in ("V00", "V01", "V02") else 1
        assert village["selected"].tolist() == (village["rank_in_area"] <= quota).tolist()
    assert scored["selected"].sum() == 18


def test_score_table_owns_its_output_and_publishes_one_set(trained):
    from slrt_ml.pipeline.score import load_scoring_models
    from slrt_ml.pipeline.score_run import OutputLockedError, ScoreRun, read_output_manifest

    models, _, _ = load_scoring_models(trained["run"], model_names=["pmt_ols"])
    table, out = _survey(n=40, seed=12), trained["root"] / "owned.csv"
    with ScoreRun(out), pytest.raises(OutputLockedError):  # another run holds <out>
        score_table(table, trained["mapping"], models, out, quota=0.2)
    assert not out.exists()
    result = score_table(table, trained["mapping"], models, out, quota=0.2)
    manifest = read_output_manifest(out)
    assert manifest["input_rows"] == result.n_input == 40
    assert manifest["scored_rows"] + manifest["rejected_rows"] == 40
    assert manifest["files"]["output"]["file"] == "owned.csv"
    assert not any(p.name.startswith(".owned") for p in out.parent.iterdir())


def test_missing_mapped_column_exits_1_naming_it_without_a_traceback(project, tmp_path):
    _survey().drop(columns=["rooms"]).to_csv(tmp_path / "broken.csv", index=False)
    result = runner.invoke(app, ["train", "--mapping", str(project["mapping"]), "--table",
                                 str(tmp_path / "broken.csv"), "--out", str(tmp_path / "r"),
                                 "--config", str(project["config"]), "--no-track"])  # fmt: skip
    assert result.exit_code == 1
    text = _flat(result.output)
    assert "'rooms' (features.numeric)" in text and "missing" in text
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a MappingError


def test_data_and_mapping_together_or_neither_is_a_usage_error(project, tmp_path):
    both = runner.invoke(app, ["train", "--data", str(tmp_path), "--mapping",
                               str(project["mapping"]), "--out", str(tmp_path / "r")])  # fmt: skip
    assert both.exit_code == 2
    assert "not both" in _flat(both.output)
    neither = runner.invoke(app, ["compare", "--run", str(tmp_path)])
    assert neither.exit_code == 2 and "not neither" in _flat(neither.output)
    table_alone = runner.invoke(app, ["score", "--model", str(tmp_path), "--prelist",
                                      str(tmp_path), "--table", "x.csv", "--out", "o.csv"])  # fmt: skip
    assert table_alone.exit_code == 2 and "add --mapping" in _flat(table_alone.output)


def test_load_mapped_data_needs_a_table(tmp_path):
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MAPPING))
    with pytest.raises(MappingError, match="no household table given; pass --table"):
        load_mapped_data(None, tmp_path / "m.yaml")
    with pytest.raises(MappingError, match=r"nothere\.csv does not exist"):
        load_mapped_data(tmp_path / "nothere.csv", tmp_path / "m.yaml")


def test_codes_keep_leading_zeros_when_read_from_csv(tmp_path):
    table = _survey(n=30)
    table["hh_id"] = [f"{i:05d}" for i in range(30)]
    table.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({**MAPPING, "table": "t.csv"}))
    data = load_mapped_data(None, tmp_path / "m.yaml")
    assert data.frame["IDBDT"].tolist()[:2] == ["00000", "00001"]
    assert data.extra["mapping_digest"] == mapping_digest(load_mapping(tmp_path / "m.yaml"))


# --- the run's selection rule and features; survey weights; the label guard -----------------


def test_score_table_ranks_nationally_unless_per_area_quotas_are_asked_for(trained):
    from slrt_ml.pipeline.score import load_scoring_models

    models, _, _ = load_scoring_models(trained["run"], model_names=["logit"])
    table = _survey(n=90, seed=10)
    result = score_table(table, trained["mapping"], models, trained["root"] / "n.parquet",
                         quota=0.2)  # fmt: skip
    scored = pd.read_parquet(result.output).sort_values("rank_in_area")
    assert scored["rank_in_area"].tolist() == list(range(1, 91))  # one national ranking
    assert scored["selected"].tolist() == [True] * 18 + [False] * 72
    ranked_by = "margin" if "margin" in scored else "score"  # the score column's name
    assert scored[ranked_by].is_monotonic_decreasing


def test_score_table_refuses_a_mapping_with_other_features(trained, tmp_path):
    from slrt_ml.pipeline.score import load_scoring_models

    models, _, _ = load_scoring_models(trained["run"], model_names=["logit"])
    other = {
        **MAPPING,
        "features": {
            "numeric": ["rooms", "members", "extra"],
            "categorical": ["roof", "tenure"],
            "binary": ["has_tv"],
        },
    }
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    table = _survey(n=30, seed=11).assign(extra=1.0)
    with pytest.raises(ValueError, match=r"missing from the mapping: \['female_head'\]; "
                       r"not in the run: \['extra'\]"):  # fmt: skip
        score_table(table, tmp_path / "other.yaml", models, tmp_path / "s.csv")


def _weighted_project(root: Path, **changes) -> Path:
    table = _survey()
    rng = np.random.default_rng(5)
    table["expansion"] = np.round(rng.lognormal(4.0, 1.0, len(table)), 2)
    for column, values in changes.items():
        table[column] = values
    table.to_csv(root / "survey.csv", index=False)
    mapping = {**MAPPING, "table": "survey.csv", "survey_weight": "expansion"}
    (root / "survey.yaml").write_text(yaml.safe_dump(mapping))
    return root / "survey.yaml"


def test_train_with_a_survey_weight_changes_the_out_of_fold_scores(trained, tmp_path):
    mapping = _weighted_project(tmp_path)
    result = _ok(["train", "--mapping", mapping, "--out", tmp_path / "run", "--config",
                  trained["config"], "--no-track"])  # fmt: skip
    assert "survey weights used: expansion" in _flat(result.output)
    weighted = pd.read_parquet(tmp_path / "run" / "oof_scores.parquet")
    plain = pd.read_parquet(trained["run"] / "oof_scores.parquet")
    assert weighted["IDBDT"].tolist() == plain["IDBDT"].tolist()  # same households, same folds
    for model in ("pmt_ols", "logit"):
        assert not np.allclose(weighted[model], plain[model]), model
    block = json.loads((tmp_path / "run" / "manifest.json").read_text())["training_sample"]
    assert block["survey_weight_column"] == "expansion" and block["survey_weights_used"]
    assert (block["labelled"], block["trained_on"], block["rule"]) == (300, 300, "labelled")
    unweighted = json.loads((trained["run"] / "manifest.json").read_text())["training_sample"]
    assert unweighted["survey_weights_used"] is False


def test_train_refuses_a_one_class_label_naming_the_column(trained, tmp_path):
    mapping = _weighted_project(tmp_path, poor=1)
    result = runner.invoke(app, ["train", "--mapping", str(mapping), "--out",
                                 str(tmp_path / "run"), "--no-track"])  # fmt: skip
    assert result.exit_code != 0
    text = _flat(result.output)
    assert "label 'poor' has one class" in text and "Traceback" not in result.output
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_train_reports_a_text_label_with_the_poor_values_hint(trained, tmp_path):
    labels = np.where(_survey()["poor"] == 1, "Pobre", "No pobre")
    mapping = _weighted_project(tmp_path, poor=labels)
    result = runner.invoke(app, ["train", "--mapping", str(mapping), "--out",
                                 str(tmp_path / "run"), "--no-track"])  # fmt: skip
    assert result.exit_code != 0
    assert "holds text" in _flat(result.output) and "poor_values" in _flat(result.output)


def test_train_records_missing_feature_values(trained, tmp_path):
    rooms = _survey()["rooms"].astype(float).where(lambda r: r.index % 10 != 0)
    mapping = _weighted_project(tmp_path, rooms=rooms)
    result = _ok(["train", "--mapping", mapping, "--out", tmp_path / "run", "--config",
                  trained["config"], "--no-track"])  # fmt: skip
    assert "missing feature values (rooms: 30)" in _flat(result.output)
    dataset = json.loads((tmp_path / "run" / "manifest.json").read_text())["dataset"]
    assert dataset["feature_missing"] == {"rooms": 30}
    assert "median" in dataset["missing_fill"]
