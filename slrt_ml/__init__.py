"""slrt_ml: measure and reduce miss-targeting in Indonesia's PKH cash transfer.

The functions the CLI calls are re-exported here for notebooks: load and validate a
registry, build features, train, compare with SIKS-NG at equal coverage, explain, score
the prelist. They are imported lazily (PEP 562), so ``import slrt_ml`` loads no pandas,
scikit-learn, TensorFlow, MLflow or SHAP until a function is used.

A tiny synthetic registry from features to one fast model and a comparison (synthetic
data: it shows the pipeline works, not how the real SIKS-NG performs):

>>> import slrt_ml
>>> tables = slrt_ml.make_registry(households=300, seed=1)
>>> registry = slrt_ml.validate_registry(tables)
>>> features = slrt_ml.household_features(registry.households, registry.members, registry.areas)
>>> len(features) == len(registry.households)
True
>>> data = slrt_ml.registry_targeting_data(registry)
>>> model = slrt_ml.make_model("logit").fit(data.features, data.poor, groups=data.groups)
>>> score = model.poverty_score(data.features)  # higher = poorer
>>> comparison = slrt_ml.compare_scores(data, {"logit": score}, bootstrap=20, views=["population"])
>>> selected = comparison.selections.groupby("system")["selected"].sum()
>>> int(selected["logit"]) == int(selected["siksng"])  # equal coverage
True
>>> 0 <= comparison.estimate("logit", "exclusion_error") <= 1
True

The same flow on folders, as the CLI runs it: ``load_targeting_data(DIR)``, then
``train(data, RUN, config)`` and ``compare_and_write(RUN, data)``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module it lives in (imported on first use).
_EXPORTS: dict[str, str] = {
    # data: synthetic registry, reading and validating
    "make_registry": "data.synth.generator",
    "generate_registry": "data.synth.generator",
    "load_registry": "data.registry",
    "load_prelist": "data.registry",
    "Registry": "data.registry",
    "validate_registry": "pipeline.in_memory",
    "validate_households": "data.schema",
    "validate_members": "data.schema",
    "SchemaError": "data.schema",
    # features
    "household_features": "features.households",
    "pkh_components": "features",
    "describe_answer": "features",
    # models and configuration
    "make_model": "models",
    "load_model": "models",
    "save_model": "models",
    "MODEL_NAMES": "models",
    "load_config": "config",
    "config_from_dict": "config",
    # training and comparison
    "TargetingData": "targeting.frame",
    "targeting_data": "pipeline.in_memory",
    "registry_targeting_data": "targeting.frame",
    "load_targeting_data": "pipeline.train",
    "train": "pipeline.train",
    "run_training": "pipeline.train",
    "run_comparison": "pipeline.compare",
    "compare_and_write": "pipeline.compare",
    "cross_validated_scores": "pipeline.in_memory",
    "compare_scores": "pipeline.in_memory",
    "compare": "evaluation.compare",
    "summary_table": "evaluation.report",
    "render_html": "evaluation.report",
    # explanations and prelist scoring
    "explain_households": "explain.api",
    "plot_waterfall": "explain.plots",
    "load_scoring_models": "pipeline.score",
    "score_prelist": "pipeline.score",
    # end to end and other data
    "run_demo": "pipeline.demo",
    "load_mapping": "data.mapping",
    "mapped_targeting_data": "targeting.mapped",
    "costa_rica_data": "pipeline.costa_rica",
    "costa_rica_run": "pipeline.costa_rica",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a re-exported function from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slrt_ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
