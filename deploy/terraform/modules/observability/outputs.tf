output "alert_topic_arn" {
  description = "SNS topic of the alarms and of the app's own alerts."
  value       = aws_sns_topic.alerts.arn
}

output "log_group_names" {
  description = "Log group names of the app's containers by short name."
  value       = { for key, group in aws_cloudwatch_log_group.app : key => group.name }
}

output "log_group_arns" {
  description = "Log group ARNs of the app's containers by short name."
  value       = { for key, group in aws_cloudwatch_log_group.app : key => group.arn }
}

output "request_alarm" {
  description = "The daily request alarm: name, threshold, period, where it publishes."
  value = {
    name          = aws_cloudwatch_metric_alarm.requests.alarm_name
    threshold     = aws_cloudwatch_metric_alarm.requests.threshold
    period        = aws_cloudwatch_metric_alarm.requests.period
    alarm_actions = tolist(aws_cloudwatch_metric_alarm.requests.alarm_actions)
  }
}

output "email_subscription" {
  description = "The alert topic's email subscription."
  value = {
    topic_arn = aws_sns_topic_subscription.email.topic_arn
    protocol  = aws_sns_topic_subscription.email.protocol
    endpoint  = aws_sns_topic_subscription.email.endpoint
  }
}

output "alarm_names" {
  description = "Every alarm of the environment."
  value = concat(
    [aws_cloudwatch_metric_alarm.requests.alarm_name, aws_cloudwatch_metric_alarm.server_errors.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.queue_depth : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.dead_letters : alarm.alarm_name],
  )
}

output "cloudtrail_arn" {
  description = "ARN of the trail (null when cloudtrail_enabled is false)."
  value       = one(aws_cloudtrail.this[*].arn)
}
