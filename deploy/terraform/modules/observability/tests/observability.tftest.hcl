# The alarms on mock providers: the 10,000-requests-in-24-hours alarm and its email, 5xx rate,
# queue depth and dead letters, and the audit trail.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan
}

variables {
  name                     = "aptmagic-test"
  kms_key_arn              = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
  alarm_email              = "ops@example.com"
  load_balancer_arn_suffix = "app/aptmagic-test/0123456789abcdef"
  queue_names              = { cpu = "aptmagic-test-cpu", gpu = "aptmagic-test-gpu" }
  dead_letter_queue_names  = { cpu = "aptmagic-test-cpu-dlq", gpu = "aptmagic-test-gpu-dlq" }
  cloudtrail_bucket_name   = "aptmagic-test-logs"
}

run "alarms" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.requests.namespace == "AWS/ApplicationELB"
      && aws_cloudwatch_metric_alarm.requests.metric_name == "RequestCount"
      && aws_cloudwatch_metric_alarm.requests.statistic == "Sum"
      && aws_cloudwatch_metric_alarm.requests.period == 86400
      && aws_cloudwatch_metric_alarm.requests.evaluation_periods == 1
      && aws_cloudwatch_metric_alarm.requests.threshold == 10000
      && aws_cloudwatch_metric_alarm.requests.comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.requests.dimensions == tomap({ LoadBalancer = var.load_balancer_arn_suffix })
    )
    error_message = "the request alarm sums the load balancer's requests over 24 hours against 10,000"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.requests.alarm_actions == toset([aws_sns_topic.alerts.arn])
    error_message = "the request alarm publishes to the alert topic"
  }
  assert {
    condition = (
      aws_sns_topic_subscription.email.topic_arn == aws_sns_topic.alerts.arn
      && aws_sns_topic_subscription.email.protocol == "email"
      && aws_sns_topic_subscription.email.endpoint == "ops@example.com"
    )
    error_message = "the alert topic has the email subscription"
  }
  assert {
    condition     = aws_sns_topic.alerts.kms_master_key_id == var.kms_key_arn
    error_message = "the alert topic is encrypted with the customer key"
  }
  assert {
    condition     = anytrue([for q in aws_cloudwatch_metric_alarm.server_errors.metric_query : q.return_data == true && strcontains(coalesce(q.expression, "-"), "/ requests")])
    error_message = "the 5xx alarm watches a rate"
  }
  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.queue_depth) == ["cpu", "gpu"] && alltrue([for a in aws_cloudwatch_metric_alarm.queue_depth : a.threshold == 1000])
    error_message = "each queue's depth has an alarm"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.dead_letters : a.threshold == 0 && a.comparison_operator == "GreaterThanThreshold"])
    error_message = "any dead letter raises an alarm"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.app : g.retention_in_days == 365 && g.kms_key_id == var.kms_key_arn])
    error_message = "log groups keep their retention and are encrypted"
  }
  assert {
    condition     = aws_cloudtrail.this[0].is_multi_region_trail && aws_cloudtrail.this[0].enable_log_file_validation && aws_cloudtrail.this[0].kms_key_id == var.kms_key_arn
    error_message = "CloudTrail records every region, validates its files and encrypts them"
  }
}

run "bad_email" {
  command = plan

  variables {
    alarm_email = "not an address"
  }

  expect_failures = [var.alarm_email]
}
