"""Drawing a finished job's page again when delivery reports move its counts, at most once per `every_s`.

The job item's `page_refreshed_at` is the rate limit: one conditional write both checks that the job is finished
(its page exists) and that its page was not refreshed in the last `every_s` seconds, and takes the refresh, so two
pollers at once draw it once. Its answer holds the counts and the keys; the page is drawn again from the data
stored beside it (`<name>.page.json`), with no item read.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from smsdrop.output.page_files import PageFiles
from smsdrop.output.results_file import ReportKeys
from smsdrop.store.schema import is_condition_failed, job_key

REFRESH_EVERY_S = 100
"""Under the shortest delivery poll period (2 minutes), so each scheduled poll that moves counts may redraw."""
FINISHED = ("COMPLETED", "STOPPED", "FAILED")


class PageRefresher:
    """Redraws the pages of finished jobs with their current counts (see the module docstring)."""

    def __init__(self, s3: Any, dynamodb: Any, table: str, every_s: int = REFRESH_EVERY_S) -> None:
        self._files = PageFiles(s3)
        self._db = dynamodb
        self._table = table
        self._every_s = every_s

    def refresh(self, job_id: str, now: int) -> bool:
        """Redraw the job's page if it is finished and was not redrawn lately; False when none was due."""
        job = self._take(job_id, now)
        if job is None:
            return False
        page = ReportKeys(job["results_key"]["S"], job["summary_key"]["S"]).page
        counts = {status: int(value["N"]) for status, value in job["counts"]["M"].items()}
        data = self._files.read(job["bucket"]["S"], page)
        self._files.write(job["bucket"]["S"], data.with_counts(counts, now))
        return True

    def _take(self, job_id: str, now: int) -> dict[str, Any] | None:
        """Note the refresh on the job item if one is due; its attributes then, or None if none is due."""
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="SET page_refreshed_at = :now",
                ConditionExpression=(
                    "#state IN (:f0, :f1, :f2) AND attribute_exists(summary_key) "
                    "AND (attribute_not_exists(page_refreshed_at) OR page_refreshed_at <= :due)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":due": {"N": str(now - self._every_s)},
                    **{f":f{i}": {"S": state} for i, state in enumerate(FINISHED)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return None
            raise
        attributes: dict[str, Any] = answer["Attributes"]
        return attributes
