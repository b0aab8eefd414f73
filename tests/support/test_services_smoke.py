import redis
import sqlalchemy as sa


def test_services(redis_server, postgres_url, moto_server):
    assert redis.Redis.from_url(redis_server.url).ping()
    e = sa.create_engine(postgres_url)
    with e.connect() as c:
        assert c.execute(sa.text("select 1")).scalar() == 1
    e.dispose()
    redis_server.stop()
    redis_server.start()
    assert redis.Redis.from_url(redis_server.url).ping()
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=moto_server.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket="smoke-bucket")
    assert s3.list_buckets()["Buckets"]
