output "bucket_name" {
  description = "State bucket."
  value       = aws_s3_bucket.state.id
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "lock_table_name" {
  description = "Lock table."
  value       = aws_dynamodb_table.locks.name
}

output "kms_key_arn" {
  description = "Key of the state bucket and the lock table."
  value       = aws_kms_key.state.arn
}
