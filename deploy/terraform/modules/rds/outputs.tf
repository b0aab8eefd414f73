output "cluster_arn" {
  description = "ARN of the cluster."
  value       = aws_rds_cluster.this.arn
}

output "cluster_identifier" {
  description = "Identifier of the cluster (for restores)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "endpoint" {
  description = "Writer endpoint."
  value       = aws_rds_cluster.this.endpoint
}

output "database_url_secret_arn" {
  description = "ARN of the secret that holds APTMAGIC_DATABASE_URL."
  value       = aws_secretsmanager_secret.url.arn
}

output "deletion_protection" {
  description = "Whether the cluster refuses deletion."
  value       = aws_rds_cluster.this.deletion_protection
}

output "backup_retention_days" {
  description = "Point-in-time restore window in days."
  value       = aws_rds_cluster.this.backup_retention_period
}

output "storage_encrypted" {
  description = "Whether the cluster's storage is encrypted."
  value       = aws_rds_cluster.this.storage_encrypted
}

output "final_snapshot" {
  description = "Whether destroying the cluster leaves a final snapshot."
  value       = !aws_rds_cluster.this.skip_final_snapshot
}
