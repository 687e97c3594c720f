"""The update-cycle parts of the command line: ``slrt-ml cycles`` and ``data synth --cycles``.

Kept beside :mod:`slrt_ml.cli` (which stays under the module size limit):
:func:`add_cycles_command` registers ``cycles`` on the app, :func:`synth_cycles` is what
``data synth --cycles N`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slrt_ml.cli_options import ConfigPath, DataOption, command, split

__all__ = ["CycleMonthsOption", "CyclesOption", "add_cycles_command", "synth_cycles"]

CyclesOption = Annotated[
    int, typer.Option("--cycles", min=0, help="N update cycles: OUT/cycle_00.. (docs/CYCLES.md).")
]
CycleMonthsOption = Annotated[
    int, typer.Option("--cycle-months", min=1, max=60, help="Months between update cycles.")
]


def synth_cycles(out: Path, households: int, seed: int, fmt: str, cycles: int, months: int,
                 params) -> None:  # fmt: skip
    """Write ``OUT/cycle_00 ..`` and ``OUT/cycles.json``; print the per-cycle summary."""
    from slrt_ml.data.synth.cycle_registry import generate_cycles

    summary = generate_cycles(out, households, seed, fmt, cycles, months, params=params)
    typer.echo(f"wrote {summary['cycles']} cycle registries and cycles.json to {out}")
    for row in summary["per_cycle"]:
        err = row["siksng_errors"]
        typer.echo(
            f"{row['folder']} ({row['periode']}): {row['households']:,} households, "
            f"SIKS-NG exclusion error {err['exclusion_error']:.3f}, "
            f"inclusion error {err['inclusion_error']:.3f}"
        )
    decay = summary["decay_pp_per_year"]
    typer.echo(
        f"accuracy change a year: SIKS-NG {decay['siksng_accuracy']:+.2f} pp, "
        f"the cycle-0 list held fixed {decay['frozen_accuracy']:+.2f} pp"
    )


def add_cycles_command(app: typer.Typer) -> None:
    """Register ``slrt-ml cycles`` on ``app``."""

    @command(app, "slrt-ml data synth --out panel/ --cycles 4 && slrt-ml cycles --data panel/ "
             "--out cycles/", "slrt-ml cycles --data panel/ --out cycles/ --models logit "
             "--refit-every 1 --bootstrap 200", name="cycles")  # fmt: skip
    def cycles(
        data: DataOption,
        out: Annotated[Path, typer.Option("--out", help="Folder for the tables and report.")],
        models: Annotated[
            str, typer.Option("--models", help="Comma-separated model families.")
        ] = "pmt_ols,logit,gbm",
        bootstrap: Annotated[
            int, typer.Option("--bootstrap", min=0, help="Desa-bootstrap replicates.")
        ] = 200,
        refit_every: Annotated[
            int, typer.Option("--refit-every", min=1, help="Cycles between refits (every_k).")
        ] = 2,
        drift_threshold: Annotated[
            float,
            typer.Option(
                "--drift-threshold",
                min=0.0,
                help="Mean PSI of the prelist that triggers a refit (policy drift).",
            ),  # fmt: skip
        ] = 0.1,
        seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
        config: ConfigPath = None,
    ) -> None:
        """Train on each cycle, test on later cycles: errors per cycle, decay a year, refits."""
        from slrt_ml.config import load_config
        from slrt_ml.pipeline.cycles import run_cycles, write_cycles

        if data is None:
            raise typer.BadParameter("give --data, the folder `data synth --cycles` wrote")
        try:
            result = run_cycles(
                data, models=split(models) or (), config=load_config(config),
                bootstrap=bootstrap, refit_every=refit_every, drift_threshold=drift_threshold,
                seed=seed, progress=lambda message: typer.echo(message, err=True),
            )  # fmt: skip
            paths = write_cycles(result, out)
        except (FileNotFoundError, ValueError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=1) from None
        for row in result.decay[result.decay["metric"] == "exclusion_error"].itertuples():
            typer.echo(f"{row.policy:>9s} {row.system:8s} exclusion error "
                       f"{row.slope_pp_per_year:+.1f} pp a year "
                       f"[{row.ci_low:+.1f}, {row.ci_high:+.1f}]")  # fmt: skip
        for path in paths.values():
            typer.echo(f"wrote {path}")
