"""A workflow module for ``pseven-emulator --workflows tests.emulator.sample_workflows``."""

from airflow_provider_pseven.emulator import Param, Result, Workflow


def _double(params, ctx):
    ctx.log("doubling")
    return {"Out": params["In"] * 2}


def register(server):
    server.add_workflow(
        Workflow(
            path="/Users/1/Double.p7wf",
            function=_double,
            parameters=[Param("In", "Integer", 21)],
            results=[Result("Out")],
        )
    )
