"""The ClientApp: each SuperNode is the Fed-BBPT client of its partition-id."""

from fedbbpt_lite.flower import client_app

from .task import federation

app = client_app(lambda run_config: federation(run_config).client_fn)
