output "endpoint_name" {
  description = "Name of the endpoint (the app's sagemaker engine calls it)."
  value       = aws_sagemaker_endpoint.this.name
}

output "endpoint_arn" {
  description = "ARN of the endpoint (the workers may invoke it)."
  value       = aws_sagemaker_endpoint.this.arn
}

output "scaling" {
  description = "Instance count range of the endpoint."
  value       = { min = aws_appautoscaling_target.this.min_capacity, max = aws_appautoscaling_target.this.max_capacity }
}
