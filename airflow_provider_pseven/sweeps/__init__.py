"""Parameter sweeps: many pSeven runs of one workflow from one task (RunSweepOperator).

- :mod:`.policy`: pure rules: run names, concurrency, the failure budget, the best row.
- :mod:`.tables`: streaming the input table, and the results table's parts and final files.
- :mod:`.points`: one point's runs as a client operation (deploy, set, start, wait, retry).

Nothing here imports Airflow or an fsspec backend at module level: the operators package imports
the sweep operator in every worker task process.
"""
