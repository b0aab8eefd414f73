variable "name" {
  description = "Prefix of the secret names, e.g. aptmagic-prod (secrets are <name>/<secret>)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key that encrypts the secrets."
  type        = string
}

variable "operator_secrets" {
  description = "Further secrets by the app setting they feed (e.g. APTMAGIC_SMTP_PASSWORD = \"smtp-password\"). Terraform creates each secret empty; put its value with aws secretsmanager put-secret-value before the tasks start."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for setting in keys(var.operator_secrets) : can(regex("^APTMAGIC_[A-Z0-9_]+$", setting))])
    error_message = "Keys are app settings as environment variables (APTMAGIC_...)."
  }
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored (0: deleted at once)."
  type        = number
  default     = 30
}
