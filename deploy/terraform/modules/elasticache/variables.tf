variable "name" {
  description = "Name of the replication group, e.g. aptmagic-prod."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the cache (admits Redis from the API and the workers)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key for data at rest and the secrets."
  type        = string
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "multi_az" {
  description = "A replica in another zone with automatic failover."
  type        = bool
  default     = true
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots kept."
  type        = number
  default     = 1
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored."
  type        = number
  default     = 30
}
