"""The report page in S3: `reports/<name>.html`, and the data it was drawn from beside it (`<name>.page.json`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from smsdrop.output.page_data import PageCollector, PageData
from smsdrop.output.report_page import render

logger = Logger(child=True)

PAGE_SUFFIX = ".html"
DATA_SUFFIX = ".page.json"


class PageFiles:
    """Writes a page and its data; reads the data back to draw the page again."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def publish(
        self, bucket: str, page: PageCollector, summary: Mapping[str, Any], files: Mapping[str, str], now: float
    ) -> bool:
        """Write the page of a job that just ended. The page is for people: if it cannot be written, the job
        still ends (the results file is the record), and the error is logged."""
        try:
            self.write(bucket, page.data(summary, files, now))
        except Exception:
            logger.exception("Report page not written", extra={"page_key": files.get("page")})
            return False
        return True

    def write(self, bucket: str, data: PageData) -> None:
        """Store the data, then the page drawn from it (at `data.files["page"]`)."""
        page = data.files["page"]
        body = json.dumps(data.as_json(), sort_keys=True).encode()
        self._s3.put_object(Bucket=bucket, Key=data_key(page), Body=body, ContentType="application/json")
        html = render(data).encode()
        self._s3.put_object(Bucket=bucket, Key=page, Body=html, ContentType="text/html; charset=utf-8")

    def read(self, bucket: str, page: str) -> PageData:
        """The data the page at `page` was last drawn from."""
        body = self._s3.get_object(Bucket=bucket, Key=data_key(page))["Body"].read()
        return PageData.from_json(json.loads(body))


def data_key(page: str) -> str:
    """`reports/a.html` -> `reports/a.page.json`."""
    return page.removesuffix(PAGE_SUFFIX) + DATA_SUFFIX
