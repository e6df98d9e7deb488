"""What pSeven operators and sensors share as Airflow tasks: the run they address, how they wait,
and how they meet retries. Operators and sensors both import from here; neither imports the other."""
