"""Interactive dashboards built over the pure plot functions in plots.py.

Anything that spends black-box queries runs when the button is clicked, never on a slider
move. Controls are attributes, so tests drive a dashboard without a browser.
"""

from __future__ import annotations

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np

from . import plots, zo
from .blackbox.toy import ToyBlackBox, ToyFunction
from .federated.partition import dirichlet, label_skew
from .sweep import select_runs


class Dashboard:
    """Controls above an output area (self.box) that shows the latest figure."""

    def show(self, figure) -> None:
        with self.output:
            self.output.clear_output(wait=True)
            plt.show()
        plt.close(figure)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


class EstimatorExplorer(Dashboard):
    """Pick an estimator, q and mu; the button draws `draws` estimates at a point of a 2-D toy
    function and plots them against the true gradient, with the queries they cost."""

    def __init__(self, function: str = "rosenbrock", point=(-1.0, 1.5), draws: int = 20, seed=0):
        self.function = ToyFunction(function, 2)
        self.blackbox = ToyBlackBox(self.function)
        self.point = np.asarray(point, dtype=np.float64)
        self.draws = draws
        self.rng = np.random.default_rng(seed)
        self.method = ipywidgets.Dropdown(
            options=zo.ESTIMATORS, value="rge_gaussian", description="method"
        )
        self.q = ipywidgets.IntSlider(value=1, min=1, max=32, description="q")
        self.mu = ipywidgets.FloatLogSlider(value=1e-2, base=10, min=-4, max=0, description="mu")
        self.button = ipywidgets.Button(description="Estimate (spends queries)")
        self.output = ipywidgets.Output()
        self.last_estimates: np.ndarray | None = None
        self.button.on_click(self._estimate)
        self.box = ipywidgets.VBox(
            [ipywidgets.HBox([self.method, self.q, self.mu]), self.button, self.output]
        )

    def estimates(self) -> np.ndarray:
        """`draws` estimates with the current settings, each one billed batched call."""
        settings = {"mu": self.mu.value, "q": self.q.value}
        return np.stack(
            [
                zo.estimate(
                    self.method.value, self.blackbox.query, self.point, self.rng, **settings
                )
                for _ in range(self.draws)
            ]
        )

    def _estimate(self, _button=None) -> None:
        self.last_estimates = self.estimates()
        title = f"{self.method.value}: {self.blackbox.meter.calls} calls so far"
        self.show(
            plots.plot_gradient_estimates(
                self.function,
                self.point,
                self.function.gradient(self.point),
                self.last_estimates,
                title,
            )
        )


class PartitionExplorer(Dashboard):
    """Sliders for the Dirichlet alpha and the number of clients; each move redraws the label
    mix of every client. It splits labels only, so it spends no queries."""

    def __init__(self, labels, class_names, seed: int = 0):
        self.labels, self.class_names, self.seed = np.asarray(labels), list(class_names), seed
        self.alpha = ipywidgets.FloatLogSlider(
            value=0.5, base=10, min=-2, max=2, description="alpha"
        )
        self.clients = ipywidgets.IntSlider(value=10, min=2, max=20, description="clients")
        self.output = ipywidgets.Output()
        self.last_parts: list[np.ndarray] | None = None
        for control in (self.alpha, self.clients):
            control.observe(self._redraw, names="value")
        self.box = ipywidgets.VBox([ipywidgets.HBox([self.alpha, self.clients]), self.output])
        self._redraw()

    def parts(self) -> list[np.ndarray]:
        """The Dirichlet split for the current slider values (seeded, so reproducible)."""
        rng = np.random.default_rng(self.seed)
        return dirichlet(self.labels, self.clients.value, self.alpha.value, rng)

    def _redraw(self, _change=None) -> None:
        self.last_parts = self.parts()
        skew = label_skew(self.last_parts, self.labels)
        title = f"Dirichlet alpha = {self.alpha.value:.2g}: label skew {skew:.2f}"
        self.show(plots.plot_partition(self.last_parts, self.labels, self.class_names, title))


class SweepExplorer(Dashboard):
    """Dropdowns over stored sweep runs that redraw the runs chosen; it opens on a federated
    vision run by default, whose curves show rounds, and spends no queries."""

    FIELDS = ("task", "dataset", "method", "partition", "alpha")
    INITIAL = {"task": "vision", "method": "fedbbpt"}

    def __init__(self, frame, **initial):
        if frame.empty:
            raise ValueError("frame holds no runs: load a sweep's results first")
        unknown = sorted(set(initial) - set(self.FIELDS))
        if unknown:
            raise ValueError(f"initial choices must be among {self.FIELDS}, got {unknown}")
        self.frame, self.initial = frame, self.INITIAL | initial
        self.controls = {name: ipywidgets.Dropdown(description=name) for name in self.FIELDS}
        self.output = ipywidgets.Output()
        self._busy = False
        for control in self.controls.values():
            control.observe(self._refresh, names="value")
        self.box = ipywidgets.VBox([ipywidgets.HBox(list(self.controls.values())), self.output])
        self._refresh()

    def selection(self) -> dict:
        """The current choices, as keyword arguments of fedbbpt_lite.sweep.select_runs."""
        chosen = {name: control.value for name, control in self.controls.items()}
        if chosen["partition"] != "dirichlet":
            chosen["alpha"] = None
        return chosen

    def _refresh(self, _change=None) -> None:
        """Offer only the choices that stored runs have under the ones above, then redraw."""
        if self._busy:
            return
        self._busy = True
        rows = self.frame
        for name, control in self.controls.items():
            if name == "alpha" and self.controls["partition"].value != "dirichlet":
                control.options, control.disabled = ("any",), True
                continue
            options = tuple(sorted(rows[name].unique()))
            wanted = control.value if control.value is not None else self.initial.get(name)
            value = wanted if wanted in options else options[0]
            control.options, control.value, control.disabled = options, value, False
            rows = rows[rows[name] == value]
        self._busy = False
        self.last_runs = select_runs(self.frame, **self.selection())
        title = " · ".join(f"{v}" for v in self.selection().values() if v is not None)
        self.show(plots.plot_sweep_runs(self.last_runs, title))


# the names lessons call (02, 03 and 06)
estimator_explorer = EstimatorExplorer
partition_explorer = PartitionExplorer
sweep_explorer = SweepExplorer
