# Redis for the app's shared state (result cache, rate limits, job events, cancels): encrypted in
# transit and at rest, an auth token generated once and kept in Secrets Manager with the URL the
# app reads (APTMAGIC_REDIS_URL).

data "aws_secretsmanager_random_password" "auth" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "auth_token" {
  #checkov:skip=CKV2_AWS_57: the token is also inside the URL secret; rotate both with the documented procedure
  name                    = "${var.name}/redis-auth-token"
  description             = "Auth token of the Redis replication group."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "auth_token" {
  secret_id     = aws_secretsmanager_secret.auth_token.id
  secret_string = data.aws_secretsmanager_random_password.auth.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50: multi_az is per environment: on in prod; dev and staging run one node (the app keeps working without Redis state)
  replication_group_id       = var.name
  description                = "aptmagic shared state (${var.name})"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  port                       = 6379
  num_cache_clusters         = var.multi_az ? 2 : 1
  automatic_failover_enabled = var.multi_az
  multi_az_enabled           = var.multi_az
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [var.security_group_id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.auth_token.secret_string
  auto_minor_version_upgrade = true
  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "03:00-04:00"
  maintenance_window         = "sun:05:00-sun:06:00"
  apply_immediately          = false
}

resource "aws_secretsmanager_secret" "url" {
  #checkov:skip=CKV2_AWS_57: follows the auth token (see above)
  name                    = "${var.name}/redis-url"
  description             = "APTMAGIC_REDIS_URL: the app's Redis URL (TLS, with the auth token)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id = aws_secretsmanager_secret.url.id
  secret_string = format(
    "rediss://:%s@%s:%d/0",
    aws_secretsmanager_secret_version.auth_token.secret_string,
    aws_elasticache_replication_group.this.primary_endpoint_address,
    aws_elasticache_replication_group.this.port,
  )
}
