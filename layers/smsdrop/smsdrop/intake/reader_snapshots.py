"""Where reader states (smsdrop.intake.reader_state) wait between invocations: one S3 object per hand-over,
`reports/.state/<job_id>/reader-<row>-<offset>.bin` for the checkpoint it was left for, next to the results file's
state objects (smsdrop.output.stream_state), so they go with them when the job's results file is complete.

A state that is missing or cannot be used is no error: the reader reads the file up to the checkpoint again, as
without snapshots. The reason is logged once per resume.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smsdrop.intake.reader_state import ReaderState, StateUnusableError, decoded, encoded
from smsdrop.models import Position
from smsdrop.output.stream_state import STATE_PREFIX

logger = logging.getLogger(__name__)

_MISSING = ("NoSuchKey", "404")


class ReaderSnapshots:
    """The reader states kept for one job, each under the checkpoint it was left for."""

    def __init__(self, s3: Any, bucket: str, job_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = f"{STATE_PREFIX}{job_id}/reader-"

    def load(self, checkpoint: Position) -> ReaderState | None:
        """The state left for `checkpoint`; None (the reason logged) if there is none or it cannot be used."""
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self.key(checkpoint))["Body"].read()
            return decoded(body)
        except ClientError as error:
            missing = error.response.get("Error", {}).get("Code") in _MISSING
            _fall_back("no snapshot was left for the checkpoint" if missing else f"it could not be read: {error}")
        except (BotoCoreError, StateUnusableError) as error:
            _fall_back(f"it could not be read: {error}")
        return None

    def save(self, checkpoint: Position, state: ReaderState) -> None:
        """Leave `state` for the invocation that resumes at `checkpoint`; a failure is logged, not raised (that
        invocation then reads the file again up to its checkpoint)."""
        body = encoded(state)
        try:
            self._s3.put_object(Bucket=self._bucket, Key=self.key(checkpoint), Body=body)
        except (BotoCoreError, ClientError) as error:
            logger.warning("Reader snapshot not saved (the next invocation re-reads the file): %s", error)
            return
        logger.info("Reader snapshot saved", extra={"checkpoint_row": checkpoint.row, "bytes": len(body)})

    def drop(self, checkpoint: Position) -> None:
        """Forget the state left for `checkpoint` (a later one replaces it); a failure only leaves it until the end."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=self.key(checkpoint))
        except (BotoCoreError, ClientError) as error:
            logger.warning("Old reader snapshot not deleted (it goes when the job ends): %s", error)

    def key(self, checkpoint: Position) -> str:
        """The object of the state left for `checkpoint`."""
        return f"{self._prefix}{checkpoint.row}-{checkpoint.offset}.bin"


def _fall_back(reason: str) -> None:
    logger.info("Resuming without a reader snapshot, so the file is read again up to the checkpoint: %s", reason)
