"""Test session set-up shared by every suite.

Airflow reads its configuration when it is first imported, so the environment is set here, at
collection time, before any test module imports Airflow: a private AIRFLOW_HOME with SQLite, no
example DAGs, and a DAGs folder holding the project's example DAGs and the integration-test DAGs
(``dag.test()`` runs only DAGs that its bundle can parse).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="pseven-tests-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
for source in (ROOT / "example_dags", ROOT / "tests" / "integration" / "dags"):
    for dag_file in sorted(source.glob("*.py")) if source.is_dir() else ():
        shutil.copy(dag_file, DAGS_FOLDER / dag_file.name)

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
os.environ.pop("AIRFLOW_CONN_PSEVEN_DEFAULT", None)


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
