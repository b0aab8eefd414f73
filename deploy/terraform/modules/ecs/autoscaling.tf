# Autoscaling. The API follows CPU and requests per task. Each worker service follows the jobs of
# its queue per running worker (waiting plus in flight); a worker service at zero is woken by
# the first waiting job, and one without any job for idle_minutes goes down to its minimum.

locals {
  scaled = {
    api        = { service = aws_ecs_service.api.name, min = var.api.min_count, max = var.api.max_count }
    worker-cpu = { service = aws_ecs_service.worker_cpu.name, min = var.cpu_workers.min_count, max = var.cpu_workers.max_count }
    worker-gpu = { service = aws_ecs_service.worker_gpu.name, min = var.gpu_workers.min_count, max = var.gpu_workers.max_count }
  }

  workers = {
    worker-cpu = { queue = var.queue_names["cpu"], jobs_per_worker = var.cpu_workers.jobs_per_worker }
    worker-gpu = { queue = var.queue_names["gpu"], jobs_per_worker = var.gpu_workers.jobs_per_worker }
  }
}

resource "aws_appautoscaling_target" "this" {
  for_each           = local.scaled
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${each.value.service}"
  min_capacity       = each.value.min
  max_capacity       = each.value.max
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${var.name}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this["api"].service_namespace
  resource_id        = aws_appautoscaling_target.this["api"].resource_id
  scalable_dimension = aws_appautoscaling_target.this["api"].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "api_requests" {
  name               = "${var.name}-api-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this["api"].service_namespace
  resource_id        = aws_appautoscaling_target.this["api"].resource_id
  scalable_dimension = aws_appautoscaling_target.this["api"].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.api.arn_suffix}/${aws_lb_target_group.api.arn_suffix}"
    }
  }
}

resource "aws_appautoscaling_policy" "jobs_per_worker" {
  for_each           = local.workers
  name               = "${var.name}-${each.key}-jobs-per-worker"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.jobs_per_worker
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "perworker"
        label       = "jobs per running worker"
        expression  = "IF(running > 0, (waiting + inflight) / running, waiting + inflight)"
        return_data = true
      }
      metrics {
        id          = "waiting"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = each.value.queue
            }
          }
        }
      }
      metrics {
        id          = "inflight"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesNotVisible"
            dimensions {
              name  = "QueueName"
              value = each.value.queue
            }
          }
        }
      }
      metrics {
        id          = "running"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = local.scaled[each.key].service
            }
          }
        }
      }
    }
  }
}

resource "aws_appautoscaling_policy" "wake" {
  for_each           = local.workers
  name               = "${var.name}-${each.key}-wake"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 120
    metric_aggregation_type = "Maximum"
    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

resource "aws_appautoscaling_policy" "idle" {
  for_each           = local.workers
  name               = "${var.name}-${each.key}-idle"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    cooldown                = 300
    metric_aggregation_type = "Maximum"
    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "wake" {
  for_each            = local.workers
  alarm_name          = "${var.name}-${each.key}-wake"
  alarm_description   = "Jobs wait in ${each.value.queue} and no ${each.key} runs."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.wake[each.key].arn]

  metric_query {
    id          = "stranded"
    expression  = "IF(FILL(running, 0) == 0, FILL(waiting, 0), 0)"
    label       = "jobs waiting without a worker"
    return_data = true
  }
  metric_query {
    id = "waiting"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = each.value.queue }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = { ClusterName = aws_ecs_cluster.this.name, ServiceName = local.scaled[each.key].service }
      stat        = "Maximum"
      period      = 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "idle" {
  for_each            = local.workers
  alarm_name          = "${var.name}-${each.key}-idle"
  alarm_description   = "No job waits in or runs from ${each.value.queue} for ${var.idle_minutes} minutes."
  evaluation_periods  = var.idle_minutes
  threshold           = 0
  comparison_operator = "LessThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_appautoscaling_policy.idle[each.key].arn]

  metric_query {
    id          = "jobs"
    expression  = "FILL(waiting, 0) + FILL(inflight, 0)"
    label       = "jobs waiting or running"
    return_data = true
  }
  metric_query {
    id = "waiting"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = each.value.queue }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "inflight"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = { QueueName = each.value.queue }
      stat        = "Maximum"
      period      = 60
    }
  }
}
