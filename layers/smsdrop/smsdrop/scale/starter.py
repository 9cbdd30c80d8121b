"""Hands a large upload to the scale-out state machine: one Standard execution per job, named after the job id, so
a duplicate S3 event starts nothing (the same running execution, or ExecutionAlreadyExists once it ended)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.send.clients import AWS_CONFIG

logger = Logger(child=True)
ENGINE = "stepfunctions"
ALREADY_EXISTS = "ExecutionAlreadyExists"


def build_scale_out(settings: Settings, sfn: Any = None) -> ScaleOut | None:
    """The starter the settings ask for (SCALE_OUT_BYTES and STATE_MACHINE_ARN), or None: every file on one
    function (no Step Functions client is made)."""
    if settings.scale_out_bytes <= 0 or not settings.state_machine_arn:
        return None
    client = sfn or boto3.client("stepfunctions", config=AWS_CONFIG)
    return ScaleOut(client, settings.state_machine_arn, settings.scale_out_bytes)


class ScaleOut:
    """Starts the state machine for uploads of at least `min_bytes` (0, or no state machine: never)."""

    def __init__(self, sfn: Any, state_machine_arn: str, min_bytes: int) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn
        self._min_bytes = min_bytes

    def takes(self, upload: Upload) -> bool:
        """Whether `upload` is large enough for the state machine (and there is one)."""
        return bool(self._arn) and self._min_bytes > 0 and (upload.size or 0) >= self._min_bytes

    def start(self, upload: Upload) -> dict[str, Any]:
        """Start the job's execution; a second start of the same job is harmless and says so."""
        body = json.dumps({"upload": upload.to_message()})
        try:
            answer = self._sfn.start_execution(stateMachineArn=self._arn, name=upload.job_id, input=body)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != ALREADY_EXISTS:
                raise
            logger.info("Execution already started for this job", extra={"job_id": upload.job_id})
            return {"job_id": upload.job_id, "engine": ENGINE, "started": False}
        logger.info("Started on Step Functions", extra={"job_id": upload.job_id, "size": upload.size})
        return {"job_id": upload.job_id, "engine": ENGINE, "started": True, "execution": answer["executionArn"]}
