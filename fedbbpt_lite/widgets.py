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


class EstimatorExplorer:
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
        with self.output:
            self.output.clear_output(wait=True)
            figure = plots.plot_gradient_estimates(
                self.function,
                self.point,
                self.function.gradient(self.point),
                self.last_estimates,
                title,
            )
            plt.show()
            plt.close(figure)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def estimator_explorer(**options) -> EstimatorExplorer:
    """Build the estimator dashboard of lesson 02 (see EstimatorExplorer)."""
    return EstimatorExplorer(**options)
