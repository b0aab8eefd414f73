variable "name" {
  description = "Name of the key; its alias is alias/<name>."
  type        = string
}

variable "description" {
  description = "What the key protects."
  type        = string
}

variable "service_principals" {
  description = "AWS services allowed to use the key on this account's behalf: any of logs, cloudtrail, cloudwatch, cloudfront."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.service_principals : contains(["logs", "cloudtrail", "cloudwatch", "cloudfront"], s)])
    error_message = "service_principals takes logs, cloudtrail, cloudwatch and cloudfront."
  }
}

variable "deletion_window_in_days" {
  description = "Days a deleted key can still be recovered."
  type        = number
  default     = 30
}
