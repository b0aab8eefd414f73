output "key_arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias" {
  description = "Alias of the key."
  value       = aws_kms_alias.this.name
}

output "rotation_enabled" {
  description = "Whether the key material rotates every year."
  value       = aws_kms_key.this.enable_key_rotation
}
