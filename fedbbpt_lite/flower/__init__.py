"""The kit's clients and strategies as Flower apps (optional: pip install -e .[flower]).

client_app(make_client_fn) and server_app(setup) wrap what run_simulation runs in one process into a
Flower ClientApp and ServerApp on Flower's Message API, so the same federation runs under
`flwr run` (Flower's simulation runtime; run_local starts it from a notebook and stops what it
started) or across machines (SuperLink and SuperNodes); experiment_client_app and
experiment_server_app are those apps for any of the kit's experiments. Import
this module only where Flower is installed; the rest of the kit never imports it.
"""

try:
    import flwr  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "fedbbpt_lite.flower needs Flower: pip install -e .[flower] (flwr[simulation] 1.42)"
    ) from error

from .apps import ServerSetup, client_app, fit_reply, message_contents, server_app
from .experiment import experiment_client_app, experiment_of, experiment_server_app
from .local_run import run_local

__all__ = [
    "ServerSetup",
    "client_app",
    "experiment_client_app",
    "experiment_of",
    "experiment_server_app",
    "fit_reply",
    "message_contents",
    "run_local",
    "server_app",
]
