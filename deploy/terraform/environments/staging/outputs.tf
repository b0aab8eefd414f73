output "app_url" {
  description = "Where the app answers."
  value       = "https://${var.domain_name}"
}

output "cloudfront_domain_name" {
  description = "The distribution's domain (point the app's domain here without Route 53)."
  value       = module.cloudfront.distribution_domain_name
}

output "repository_url" {
  description = "Push the images here: <tag> (CPU) and <tag>-cuda (GPU)."
  value       = module.ecs.repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "migrate_task_definition" {
  description = "Run this task before each deployment (aptmagic migrate)."
  value       = module.ecs.migrate_task_definition
}

output "bucket_names" {
  description = "Data buckets (media: APTMAGIC_S3_BUCKET)."
  value       = module.s3.bucket_names
}

output "queue_names" {
  description = "Job queues."
  value       = module.queue.queue_names
}

output "alert_topic_arn" {
  description = "Alert topic (alarms and the app's own alerts)."
  value       = module.observability.alert_topic_arn
}

output "db_cluster_identifier" {
  description = "Aurora cluster (point-in-time restore source)."
  value       = module.rds.cluster_identifier
}

output "private_subnet_ids" {
  description = "Private subnets (for aws ecs run-task of the migration)."
  value       = module.networking.private_subnet_ids
}

output "worker_security_group_id" {
  description = "Security group for one-off tasks (the migration)."
  value       = module.networking.security_group_ids["worker"]
}
