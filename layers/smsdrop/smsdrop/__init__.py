"""smsdrop: bulk SMS from a CSV dropped in S3."""
