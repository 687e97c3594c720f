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
