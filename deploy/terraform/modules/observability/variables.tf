variable "name" {
  description = "Name prefix, e.g. aptmagic-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key for log groups and the alert topic (its policy must admit logs and cloudwatch)."
  type        = string
}

variable "log_groups" {
  description = "Log groups of the app's containers by short name."
  type        = list(string)
  default     = ["api", "worker-cpu", "worker-gpu", "migrate"]
}

variable "log_retention_days" {
  description = "Days container and CloudTrail logs are kept in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "Address that receives the alerts (SNS email subscription; AWS sends a confirmation mail first)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address."
  }
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the API's load balancer (app/<name>/<id>), the dimension of its metrics."
  type        = string
}

variable "request_alarm_threshold" {
  description = "API requests within request_alarm_period above which the alarm goes off."
  type        = number
  default     = 10000
}

variable "request_alarm_period_seconds" {
  description = "Window of the request alarm (86400: 24 hours)."
  type        = number
  default     = 86400
}

variable "server_error_rate_percent" {
  description = "Share of 5xx answers (load balancer and targets) in percent above which the alarm goes off."
  type        = number
  default     = 5
}

variable "queue_names" {
  description = "Job queue names by app queue (cpu, gpu)."
  type        = map(string)
}

variable "dead_letter_queue_names" {
  description = "Dead-letter queue names by app queue."
  type        = map(string)
}

variable "queue_depth_threshold" {
  description = "Waiting jobs in one queue above which the alarm goes off (the app's APTMAGIC_ALERT_QUEUE_DEPTH)."
  type        = number
  default     = 1000
}

variable "cloudtrail_enabled" {
  description = "Record the account's API calls with a multi-region CloudTrail trail."
  type        = bool
  default     = true
}

variable "cloudtrail_bucket_name" {
  description = "Bucket that receives the CloudTrail files (the logs bucket, under cloudtrail/)."
  type        = string
}
