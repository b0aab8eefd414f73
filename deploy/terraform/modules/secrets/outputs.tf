output "secret_key_arn" {
  description = "ARN of the secret that holds APTMAGIC_SECRET_KEY."
  value       = aws_secretsmanager_secret.secret_key.arn
}

output "secret_key_name" {
  description = "Name of the secret that holds APTMAGIC_SECRET_KEY."
  value       = aws_secretsmanager_secret.secret_key.name
}

output "app_secrets" {
  description = "Secret ARN by the app setting it feeds (for the task definitions' secrets block)."
  value = merge(
    { APTMAGIC_SECRET_KEY = aws_secretsmanager_secret.secret_key.arn },
    { for setting, secret in aws_secretsmanager_secret.operator : setting => secret.arn },
  )
}

output "origin_verify_header" {
  description = "Value of the X-Origin-Verify header between CloudFront and the load balancer."
  value       = aws_secretsmanager_secret_version.origin_verify.secret_string
  sensitive   = true
}
