"""The "pSeven run" tab of Airflow's UI: an Airflow plugin (external views served by a FastAPI app
in the API server). Nothing here is imported by workers, triggers or DAG parsing: the plugin module
builds its FastAPI app only when the API server first calls it (docs/ui.md)."""
