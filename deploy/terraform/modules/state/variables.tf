variable "bucket_name" {
  description = "Name of the state bucket (globally unique)."
  type        = string
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table."
  type        = string
  default     = "aptmagic-terraform-locks"
}

variable "noncurrent_expire_days" {
  description = "Days earlier state versions are kept."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let terraform destroy delete the state bucket with its states."
  type        = bool
  default     = false
}
