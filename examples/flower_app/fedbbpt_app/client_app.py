"""The ClientApp: each SuperNode is the Fed-BBPT client of its partition-id."""

from fedbbpt_lite.flower import experiment_client_app

app = experiment_client_app()
