output "bucket_names" {
  description = "Data bucket names by short name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.id }
}

output "bucket_arns" {
  description = "Data bucket ARNs by short name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.arn }
}

output "bucket_regional_domain_names" {
  description = "Regional domain names of the data buckets (CloudFront origins)."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.bucket_regional_domain_name }
}

output "replica_bucket_arns" {
  description = "Replica bucket ARNs by short name (empty without replication)."
  value       = { for key, bucket in aws_s3_bucket.replica : key => bucket.arn }
}

output "logs_bucket_name" {
  description = "Name of the logs bucket (known once its policy admits the log writers)."
  value       = aws_s3_bucket_policy.logs.bucket
}

output "logs_bucket_arn" {
  description = "ARN of the logs bucket."
  value       = aws_s3_bucket.logs.arn
}

output "logs_bucket_domain_name" {
  description = "Domain name of the logs bucket (CloudFront standard logs)."
  value       = aws_s3_bucket.logs.bucket_domain_name
}

output "versioning" {
  description = "Versioning status of every data bucket and replica."
  value = merge(
    { for key, v in aws_s3_bucket_versioning.this : key => v.versioning_configuration[0].status },
    { for key, v in aws_s3_bucket_versioning.replica : "${key}-replica" => v.versioning_configuration[0].status },
  )
}

output "replication_destinations" {
  description = "Replica bucket ARN that each data bucket replicates to (empty without replication)."
  value       = { for key, r in aws_s3_bucket_replication_configuration.this : key => one(one(r.rule).destination).bucket }
}

output "sse_algorithms" {
  description = "Default encryption of every data bucket and replica."
  value = merge(
    { for key, c in aws_s3_bucket_server_side_encryption_configuration.this : key => one(one(c.rule).apply_server_side_encryption_by_default).sse_algorithm },
    { for key, c in aws_s3_bucket_server_side_encryption_configuration.replica : "${key}-replica" => one(one(c.rule).apply_server_side_encryption_by_default).sse_algorithm },
  )
}
