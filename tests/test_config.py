from pathlib import Path

import pytest

from slrt_ml.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    ConfigError,
    config_from_dict,
    config_to_dict,
    load_config,
)


def test_default_file_matches_dataclass_defaults():
    cfg = load_config(DEFAULT_CONFIG_PATH)
    assert cfg.models == Config().models
    assert cfg.cv == Config().cv
    assert cfg.compare == Config().compare


def test_unknown_top_level_key_is_named():
    with pytest.raises(ConfigError, match="unknown key 'modles'"):
        config_from_dict({"modles": ["logit"]})


def test_unknown_section_key_is_named_with_section(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("compare:\n  quotaa: siksng\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'compare.quotaa'"):
        load_config(path)


def test_yaml_tags_are_refused(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(Exception, match="could not determine a constructor|constructor"):
        load_config(path)


def test_models_as_comma_string_and_params():
    cfg = config_from_dict({"models": "logit, gbm", "model_params": {"gbm": {"max_depth": 3}}})
    assert cfg.models == ("logit", "gbm")
    assert cfg.params_for("gbm") == {"max_depth": 3}
    assert cfg.params_for("logit") == {}
    assert config_to_dict(cfg)["models"] == ["logit", "gbm"]


def test_missing_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_packaged_configs_equal_the_documented_copies():
    from pathlib import Path

    from slrt_ml.data.datasets import COSTA_RICA_MAPPING

    root = Path(__file__).resolve().parents[1] / "configs"
    assert DEFAULT_CONFIG_PATH.read_text() == (root / "default.yaml").read_text()
    assert COSTA_RICA_MAPPING.read_text() == (root / "datasets" / "costa_rica.yaml").read_text()


def test_model_names_are_the_models_package_names():
    from slrt_ml.config import DEFAULT_MODELS
    from slrt_ml.models import MODEL_NAMES

    assert DEFAULT_MODELS == MODEL_NAMES


def test_every_key_of_the_default_file_is_a_config_field():
    import dataclasses

    import yaml

    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    fields = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
    assert set(raw) == set(fields)
    for section, values in raw.items():
        default = getattr(Config(), section)
        if dataclasses.is_dataclass(default):
            assert set(values) == {f.name for f in dataclasses.fields(default)}, section


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"seed": "7"}, r"config key 'seed' must be an integer >= 0, got '7' \(str\)"),
        ({"cv": {"folds": 1}}, r"'cv.folds' must be an integer >= 2, got 1 \(int\)"),
        ({"cv": {"folds": 2.5}}, r"'cv.folds' must be an integer >= 2, got 2.5 \(float\)"),
        ({"cv": {"shuffle": "yes"}}, r"'cv.shuffle' must be true or false, got 'yes' \(str\)"),
        ({"features": {"elderly_age": True}}, r"'features.elderly_age' must be an integer"),
        ({"compare": {"quota": 0}}, r"'compare.quota' must be 'siksng', a count >= 1 or a share"),
        ({"compare": {"quota": 1.5}}, r"'compare.quota' must be .* got 1.5 \(float\)"),
        (
            {"compare": {"by": "KDKAB"}},
            r"'compare.by' must be one of null, KDKEC, KDDESA, got 'KDKAB'",
        ),
        ({"compare": {"bootstrap": -1}}, r"'compare.bootstrap' must be an integer >= 0, got -1"),
        ({"compare": {"weight": "people"}}, r"'compare.weight' must be one of household, person"),
        ({"tracking": {"enabled": 1}}, r"'tracking.enabled' must be true or false, got 1 \(int\)"),
        ({"tracking": {"experiment": ""}}, r"'tracking.experiment' must be a non-empty string"),
        ({"scoring": {"chunk_size": 0}}, r"'scoring.chunk_size' must be an integer >= 1, got 0"),
        ({"scoring": {"top_k": "5"}}, r"'scoring.top_k' must be an integer >= 1, got '5' \(str\)"),
        ({"scoring": {"quota_share": 1.5}}, r"'scoring.quota_share' must be null or a share in"),
        ({"models": ["logit", "lgbm"]}, r"config key 'models': unknown model\(s\) 'lgbm'; known"),
        ({"models": []}, r"config key 'models' must be a non-empty list of model names"),
        ({"model_params": {"lgbm": {}}}, r"unknown key 'model_params.lgbm'; known keys: pmt_ols"),
        ({"cv": [3]}, r"config section 'cv' must be a mapping, got list"),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw)


def test_a_bad_value_in_a_file_names_the_file_and_the_key(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("scoring:\n  chunk_size: lots\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: config key 'scoring.chunk_size' must be"):
        load_config(path)


def test_valid_values_are_kept():
    cfg = config_from_dict(
        {
            "seed": 0,
            "cv": {"folds": 2, "shuffle": False},
            "compare": {"quota": 5000, "by": "KDDESA", "bootstrap": 0, "weight": "person"},
            "tracking": {"enabled": False, "experiment": "x"},
            "scoring": {"chunk_size": 10, "top_k": 1, "quota_share": 1},
        }
    )
    assert (cfg.seed, cfg.cv.folds, cfg.cv.shuffle) == (0, 2, False)
    assert (cfg.compare.quota, cfg.compare.by, cfg.compare.weight) == (5000, "KDDESA", "person")
    assert config_from_dict({"compare": {"quota": 0.2}}).compare.quota == 0.2
    assert cfg.scoring.quota_share == 1.0 and isinstance(cfg.scoring.quota_share, float)
    assert (cfg.tracking.enabled, cfg.tracking.experiment) == (False, "x")


def test_with_models_checks_the_names():
    assert Config().with_models(["logit"]).models == ("logit",)
    assert Config().with_models(None) == Config()
    with pytest.raises(ConfigError, match="unknown model"):
        Config().with_models(["xgb"])


def test_flags_given_override_and_flags_left_out_keep_the_config():
    from slrt_ml.config import CompareConfig, overridden

    section = CompareConfig(quota=5000, by="KDKEC", bootstrap=7)
    assert overridden(section, quota="0.1", by=None, bootstrap=None) == CompareConfig(
        quota="0.1", by="KDKEC", bootstrap=7
    )
    assert overridden(section, bootstrap=0).bootstrap == 0  # 0 is a value, not "left out"


def test_reject_unknown_keys_raises_the_given_error_with_the_source():
    from slrt_ml.config import reject_unknown_keys

    class MyError(ValueError):
        pass

    reject_unknown_keys({"a": 1}, ["a", "b"], "sec")
    with pytest.raises(MyError, match=r"^f.yaml: unknown key 'sec.c'; known keys: a, b$"):
        reject_unknown_keys({"a": 1, "c": 2}, ["a", "b"], "sec", error=MyError, source="f.yaml")
    with pytest.raises(ConfigError, match=r"^unknown key 'c'; known keys: a$"):
        reject_unknown_keys(["c"], ["a"])


def test_cv_shuffle_false_deals_the_desa_in_data_order_whatever_the_seed():
    import numpy as np

    from slrt_ml.models.cv import grouped_folds

    groups = np.repeat(list("abcdefgh"), 3)
    plain = [test.tolist() for _, test in grouped_folds(groups, 4, seed=0, shuffle=False)]
    assert plain == [test.tolist() for _, test in grouped_folds(groups, 4, seed=9, shuffle=False)]
    shuffled = [test.tolist() for _, test in grouped_folds(groups, 4, seed=0)]
    assert shuffled == [test.tolist() for _, test in grouped_folds(groups, 4, seed=0, shuffle=True)]
