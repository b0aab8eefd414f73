variable "name" {
  description = "Name prefix of every bucket, e.g. aptmagic-prod; the account id is appended."
  type        = string
}

variable "buckets" {
  description = <<-EOT
    Data buckets by short name. temp_prefix: objects under it expire after temp_expire_days
    (the app's staging uploads are under "tmp/"); cors_origins: browser origins allowed to PUT and GET
    through presigned URLs; cdn_read_prefix: objects under it are readable by the CloudFront
    distribution (origin access control).
  EOT
  type = map(object({
    temp_prefix     = optional(string, "tmp/")
    cors_origins    = optional(list(string), [])
    cdn_read_prefix = optional(string)
  }))
}

variable "kms_key_arn" {
  description = "Customer managed key of the primary region."
  type        = string
}

variable "replication_enabled" {
  description = "Replicate every data bucket to a bucket in the replica region."
  type        = bool
}

variable "replica_kms_key_arn" {
  description = "Customer managed key of the replica region (used when replication_enabled)."
  type        = string
  default     = null
}

variable "replica_storage_class" {
  description = "Storage class of the replicas."
  type        = string
  default     = "STANDARD_IA"
}

variable "temp_expire_days" {
  description = "Days before objects under a bucket's temp_prefix expire."
  type        = number
  default     = 1
}

variable "noncurrent_ia_days" {
  description = "Days after an object version stops being current before it moves to STANDARD_IA (at least 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_ia_days >= 30
    error_message = "S3 moves objects to STANDARD_IA after 30 days at the earliest."
  }
}

variable "noncurrent_glacier_ir_days" {
  description = "Days after an object version stops being current before it moves to GLACIER_IR."
  type        = number
  default     = 90
}

variable "noncurrent_expire_days" {
  description = "Days after an object version stops being current before it is deleted."
  type        = number
  default     = 365
}

variable "abort_multipart_days" {
  description = "Days before an unfinished multipart upload is aborted."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Days access logs, load balancer logs and CloudTrail files are kept in the logs bucket."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}

variable "cdn_enabled" {
  description = "Grant the CloudFront distribution read access to each bucket's cdn_read_prefix."
  type        = bool
  default     = false
}

variable "cdn_distribution_arn" {
  description = "ARN of the CloudFront distribution allowed to read (when cdn_enabled)."
  type        = string
  default     = null
}
