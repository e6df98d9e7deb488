"""The guide's run states and app version states, and the groups of them its rules name.

Written out here, not imported from the client: the emulator implements the guide on its own, so
it can catch the client's misreadings of it.
"""

from __future__ import annotations

QUEUED_TO_INITIALIZE = "QUEUED_TO_INITIALIZE"
CONFIGURATION = "CONFIGURATION"
QUEUED_TO_RUN = "QUEUED_TO_RUN"
RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
INTERRUPTED = "INTERRUPTED"
READY = "READY"  # an app version that accepts run deploys (Workflow publishing)

# guide: "The run state has to be CONFIGURATION, FINISHED, FAILED, or INTERRUPTED" (Deleting runs)
DELETABLE = (CONFIGURATION, FINISHED, FAILED, INTERRUPTED)
STOPPED = (FINISHED, FAILED, INTERRUPTED)
