output "execution_role_arn" {
  description = "Role ECS uses to start the tasks."
  value       = aws_iam_role.execution.arn
}

output "api_role_arn" {
  description = "Role of the API tasks."
  value       = aws_iam_role.api.arn
}

output "worker_role_arn" {
  description = "Role of the worker tasks."
  value       = aws_iam_role.worker.arn
}

output "api_role_name" {
  description = "Name of the API tasks' role."
  value       = aws_iam_role.api.name
}

output "worker_role_name" {
  description = "Name of the worker tasks' role."
  value       = aws_iam_role.worker.name
}
