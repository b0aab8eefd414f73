variable "name" {
  description = "Name of the cluster, e.g. aptmagic-prod."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cluster."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the cluster (admits PostgreSQL from the API and the workers)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key for storage, Performance Insights and the secrets."
  type        = string
}

variable "engine_version" {
  description = "Aurora PostgreSQL version."
  type        = string
  default     = "16.6"
}

variable "database_name" {
  description = "Database the app uses."
  type        = string
  default     = "aptmagic"
}

variable "master_username" {
  description = "Master user name."
  type        = string
  default     = "aptmagic"
}

variable "min_capacity" {
  description = "Least Aurora capacity units (ACU) per instance; 0 lets an idle instance pause."
  type        = number
  default     = 0.5
}

variable "max_capacity" {
  description = "Most Aurora capacity units (ACU) per instance."
  type        = number
  default     = 4
}

variable "instance_count" {
  description = "Instances (the first is the writer; more are readers in other zones that take over on failure)."
  type        = number
  default     = 1
}

variable "backup_retention_days" {
  description = "Days of continuous backup: point-in-time restore reaches this far back (1 to 35)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Aurora keeps 1 to 35 days of backups."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster."
  type        = bool
  default     = true
}

variable "final_snapshot" {
  description = "Take a snapshot (<name>-final) when the cluster is deleted."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples (0: off)."
  type        = number
  default     = 60
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored."
  type        = number
  default     = 30
}
