def test_the_stack_resources_exist_on_the_moto_server(aws):
    assert aws.client("s3").get_bucket_versioning(Bucket=aws.names.bucket)["Status"] == "Enabled"
    table = aws.client("dynamodb").describe_table(TableName=aws.names.table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"ByMsgId", "ActiveJobs", "AwaitingReport"}
    assert aws.endpoint.startswith("http://127.0.0.1:")
