# What every environment must hold, and what sets dev, staging and prod apart, checked on the
# environment's own terraform.tfvars. The same file is in each environment's tests folder; the
# mock providers need no AWS account.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan
}
mock_provider "aws" {
  alias           = "replica"
  source          = "../../mocks"
  override_during = plan
}
mock_provider "aws" {
  alias           = "us_east_1"
  source          = "../../mocks"
  override_during = plan
}

run "environment" {
  command = plan

  # Security groups: nothing admits 0.0.0.0/0 or ::/0 but the load balancer on 443 and 80, and
  # only the load balancer admits from outside the VPC (CloudFront's prefix list).
  assert {
    condition = alltrue([
      for rule in values(module.networking.ingress_rules) :
      (rule.cidr_ipv4 != "0.0.0.0/0" && rule.cidr_ipv6 != "::/0") || (rule.group == "alb" && contains([80, 443], rule.from_port) && rule.from_port == rule.to_port)
    ])
    error_message = "an ingress rule other than the load balancer's 443/80 is open to the world"
  }
  assert {
    condition     = alltrue([for rule in values(module.networking.ingress_rules) : rule.prefix_list == null || rule.group == "alb"])
    error_message = "only the load balancer admits traffic from outside the VPC"
  }
  assert {
    condition = alltrue([
      for rule in values(module.networking.ingress_rules) :
      rule.group == "alb" || rule.source != null || rule.cidr_ipv4 == var.vpc_cidr
    ])
    error_message = "inner tiers admit only other tiers or the VPC"
  }

  # Buckets: versioned and encrypted with the customer key (the replicas too).
  assert {
    condition     = alltrue([for status in values(module.s3.versioning) : status == "Enabled"])
    error_message = "every data bucket and replica is versioned"
  }
  assert {
    condition     = alltrue([for algorithm in values(module.s3.sse_algorithms) : algorithm == "aws:kms"])
    error_message = "every data bucket and replica uses SSE-KMS"
  }
  assert {
    condition     = module.kms.rotation_enabled
    error_message = "the customer key rotates"
  }

  # The request alarm: more than 10,000 in 24 hours, to the alert topic, which emails.
  assert {
    condition     = module.observability.request_alarm.threshold == var.request_alarm_threshold && module.observability.request_alarm.period == 86400
    error_message = "the request alarm counts requests over 24 hours against request_alarm_threshold"
  }
  assert {
    condition     = module.observability.request_alarm.alarm_actions == tolist([module.observability.alert_topic_arn])
    error_message = "the request alarm publishes to the alert topic"
  }
  assert {
    condition = (
      module.observability.email_subscription.topic_arn == module.observability.alert_topic_arn
      && module.observability.email_subscription.protocol == "email"
      && module.observability.email_subscription.endpoint == var.alarm_email
    )
    error_message = "the alert topic emails alarm_email"
  }
  assert {
    condition     = alltrue([for env in values(module.ecs.task_environment) : env["APTMAGIC_ALERT_SNS_TOPIC_ARN"] == module.observability.alert_topic_arn])
    error_message = "the app's own alerts go to the same topic"
  }

  # Data stores: encrypted.
  assert {
    condition     = module.rds.storage_encrypted && module.elasticache.encrypted.at_rest && module.elasticache.encrypted.in_transit
    error_message = "database and cache are encrypted"
  }

  # Tasks: secrets only as references, never as values; the app configured for S3, SQS and Redis.
  assert {
    condition = alltrue([
      for secrets in values(module.ecs.task_secrets) :
      alltrue([for setting in ["APTMAGIC_SECRET_KEY", "APTMAGIC_DATABASE_URL", "APTMAGIC_REDIS_URL"] : startswith(lookup(secrets, setting, ""), "arn:aws:secretsmanager:")])
    ])
    error_message = "every container gets its secret key, database URL and Redis URL from Secrets Manager"
  }
  assert {
    condition = alltrue([
      for env in values(module.ecs.task_environment) :
      length(setintersection(keys(env), ["APTMAGIC_SECRET_KEY", "APTMAGIC_DATABASE_URL", "APTMAGIC_REDIS_URL", "APTMAGIC_SMTP_PASSWORD"])) == 0
      && alltrue([for value in values(env) : !strcontains(value, "MockPassword")])
    ])
    error_message = "no secret is written into a task definition's environment"
  }
  assert {
    condition = alltrue([
      for env in values(module.ecs.task_environment) :
      env["APTMAGIC_STORAGE_BACKEND"] == "s3" && env["APTMAGIC_S3_BUCKET"] == module.s3.bucket_names["media"]
      && env["APTMAGIC_BROKER_URL"] == "sqs://" && env["APTMAGIC_QUEUE_BACKEND"] == "celery"
      && module.queue.queue_names["cpu"] == "${env["APTMAGIC_QUEUE_NAME_PREFIX"]}cpu"
      && env["APTMAGIC_BROKER_VISIBILITY_TIMEOUT_SECONDS"] == tostring(module.queue.visibility_timeout_seconds)
    ])
    error_message = "the containers use the environment's bucket and queues"
  }

  # The load balancer: health check on /readyz, HTTP redirected to HTTPS.
  assert {
    condition     = module.ecs.health_check_path == "/readyz" && module.ecs.http_redirects_to_https
    error_message = "the API is checked on /readyz and HTTP goes to HTTPS"
  }

  # Dead-letter queues and the WAF rules.
  assert {
    condition     = keys(module.queue.dead_letter_queue_names) == keys(module.queue.queue_names)
    error_message = "every job queue has a dead-letter queue"
  }
  assert {
    condition     = contains(module.cloudfront.waf_rules, "RatePerClientAddress") && contains(module.cloudfront.waf_rules, "AWSManagedRulesCommonRuleSet")
    error_message = "the web ACL has the managed rules and the rate rule"
  }

  # dev: workers down to zero when idle, one NAT gateway, no replicas, can be torn down.
  assert {
    condition     = var.environment != "dev" || (module.ecs.scaling["worker-gpu"].min == 0 && module.ecs.scaling["worker-cpu"].min == 0)
    error_message = "dev workers scale down to zero when idle"
  }
  assert {
    condition     = var.environment != "dev" || (!module.rds.deletion_protection && module.networking.nat_gateway_count == 1)
    error_message = "dev has one NAT gateway and no deletion protection"
  }

  # staging: GPU workers down to zero, deletion protected.
  assert {
    condition     = var.environment != "staging" || (module.ecs.scaling["worker-gpu"].min == 0 && module.rds.deletion_protection)
    error_message = "staging GPU workers scale to zero; its database is protected"
  }

  # prod: replicas in a second region, deletion protection, 35 days of point-in-time restore,
  # a NAT gateway per zone, a standby database instance and Redis replica.
  assert {
    condition = var.environment != "prod" || (
      length(module.s3.replication_destinations) == length(module.s3.bucket_names)
      && alltrue([for key, destination in module.s3.replication_destinations : destination == lookup(module.s3.replica_bucket_arns, key, "missing")])
    )
    error_message = "prod replicates every data bucket to its replica"
  }
  assert {
    condition     = var.environment != "prod" || alltrue([for key in keys(module.s3.bucket_names) : lookup(module.s3.versioning, "${key}-replica", "missing") == "Enabled"])
    error_message = "prod replicas are versioned"
  }
  assert {
    condition     = var.environment != "prod" || (module.rds.deletion_protection && module.rds.final_snapshot && module.rds.backup_retention_days == 35)
    error_message = "prod's database is deletion protected, keeps a final snapshot and 35 days of point-in-time restore"
  }
  assert {
    condition     = var.environment != "prod" || (module.networking.nat_gateway_count == length(var.availability_zones) && module.elasticache.multi_az)
    error_message = "prod survives the loss of a zone"
  }
}
