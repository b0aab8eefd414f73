output "primary_endpoint" {
  description = "Primary endpoint of the replication group."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_url_secret_arn" {
  description = "ARN of the secret that holds APTMAGIC_REDIS_URL."
  value       = aws_secretsmanager_secret.url.arn
}

output "multi_az" {
  description = "Whether a replica in another zone takes over on failure."
  value       = aws_elasticache_replication_group.this.multi_az_enabled
}

output "encrypted" {
  description = "Encryption in transit and at rest."
  value = {
    in_transit = aws_elasticache_replication_group.this.transit_encryption_enabled
    at_rest    = aws_elasticache_replication_group.this.at_rest_encryption_enabled
  }
}
