output "queue_names" {
  description = "Queue names by app queue (cpu, gpu)."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.name }
}

output "queue_arns" {
  description = "Queue ARNs by app queue."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.arn }
}

output "queue_urls" {
  description = "Queue URLs by app queue."
  value       = { for key, queue in aws_sqs_queue.this : key => queue.url }
}

output "dead_letter_queue_names" {
  description = "Dead-letter queue names by app queue."
  value       = { for key, queue in aws_sqs_queue.dead_letter : key => queue.name }
}

output "dead_letter_queue_arns" {
  description = "Dead-letter queue ARNs by app queue."
  value       = { for key, queue in aws_sqs_queue.dead_letter : key => queue.arn }
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the job queues (also the app's broker visibility timeout)."
  value       = var.visibility_timeout_seconds
}
