output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "repository_url" {
  description = "Image repository; push <tag> (CPU) and <tag>-cuda (GPU) there."
  value       = aws_ecr_repository.app.repository_url
}

output "repository_arn" {
  description = "ARN of the image repository."
  value       = aws_ecr_repository.app.arn
}

output "load_balancer_dns_name" {
  description = "DNS name of the API's load balancer (CloudFront's origin)."
  value       = aws_lb.api.dns_name
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer (dimension of its CloudWatch metrics)."
  value       = aws_lb.api.arn_suffix
}

output "load_balancer_zone_id" {
  description = "Hosted zone of the load balancer (Route 53 alias records)."
  value       = aws_lb.api.zone_id
}

output "services" {
  description = "Service names by role."
  value = {
    api        = aws_ecs_service.api.name
    worker-cpu = aws_ecs_service.worker_cpu.name
    worker-gpu = aws_ecs_service.worker_gpu.name
  }
}

output "migrate_task_definition" {
  description = "Family of the one-off migration task (run it before each deployment)."
  value       = aws_ecs_task_definition.migrate.family
}

output "scaling" {
  description = "Task count range of each service."
  value       = { for key, target in aws_appautoscaling_target.this : key => { min = target.min_capacity, max = target.max_capacity } }
}

output "health_check_path" {
  description = "Path the load balancer checks on the API tasks."
  value       = aws_lb_target_group.api.health_check[0].path
}

output "http_redirects_to_https" {
  description = "Whether the HTTP listener redirects to HTTPS."
  value       = one(aws_lb_listener.http.default_action).type == "redirect" && one(one(aws_lb_listener.http.default_action).redirect).protocol == "HTTPS"
}

output "task_environment" {
  description = "Plain environment of each container (names and values; no secrets are among them)."
  value = {
    for name, definition in local.container_definitions : name => { for item in definition.environment : item.name => item.value }
  }
}

output "task_secrets" {
  description = "Settings each container gets from Secrets Manager, with the secret ARNs."
  value = {
    for name, definition in local.container_definitions : name => { for item in definition.secrets : item.name => item.valueFrom }
  }
}
