"""A sweep's runs as Ray tasks: the driver claims and stores runs in the sweep folder as any
worker does (so resume and sharing work unchanged) and keeps one task in flight per slot of the
cluster: a GPU each where it has GPUs, else a CPU each. Every node needs the kit installed and
any paper-scale data or models where the kit looks for them."""

from __future__ import annotations


class RayRuns:
    """Runs of `run(experiment, test_every) -> row` as tasks on the Ray cluster at `address`
    ("local": a new instance on this machine, shut down on exit), or on the cluster this process
    is already connected to. A task that fails or whose worker dies is reported, not retried."""

    def __init__(self, address: str, run):
        import ray

        self.ray, self.started = ray, not ray.is_initialized()
        if self.started and address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        elif self.started:
            ray.init(address=address, log_to_driver=False)
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        self.slots = gpus or max(1, cpus)
        place = {"num_gpus": 1, "num_cpus": 0} if gpus else {"num_gpus": 0, "num_cpus": 1}
        self.task = ray.remote(**place, max_retries=0)(run)

    def submit(self, experiment, test_every: int):
        return self.task.remote(experiment, test_every)

    def wait(self, handles) -> tuple:
        """(handle, row, error) of a finished task among `handles`."""
        done, _ = self.ray.wait(handles, num_returns=1)
        try:
            return done[0], self.ray.get(done[0]), None
        except self.ray.exceptions.RayError as error:
            return done[0], None, error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.started:
            self.ray.shutdown()
