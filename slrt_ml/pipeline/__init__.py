"""The pipeline: the one place that knows the order of the stages and the run folder.

``train`` (grouped CV and final fit into a run folder), ``compare`` (every model and the
reference system at equal coverage), ``score`` (the prelist), ``demo`` (end to end) and
``in_memory`` (the same stages on tables held in memory, for notebooks). Submodules are
imported on use: ``from slrt_ml.pipeline.train import train``.
"""

from slrt_ml.pipeline.run_folder import RunFolder, RunFolderError, read_manifest, write_json

__all__ = ["RunFolder", "RunFolderError", "read_manifest", "write_json"]
