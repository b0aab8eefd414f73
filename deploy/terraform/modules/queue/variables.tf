variable "name_prefix" {
  description = "Prefix of the queue names; the app's APTMAGIC_QUEUE_NAME_PREFIX must be the same (e.g. aptmagic-prod-)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,40}$", var.name_prefix))
    error_message = "Letters, digits, - and _, at most 40 (what APTMAGIC_QUEUE_NAME_PREFIX accepts)."
  }
}

variable "queues" {
  description = "The app's queues (aptmagic routes each model to cpu or gpu)."
  type        = list(string)
  default     = ["cpu", "gpu"]
}

variable "visibility_timeout_seconds" {
  description = "Seconds before an unacknowledged job goes to another worker; above the longest job, and equal to APTMAGIC_BROKER_VISIBILITY_TIMEOUT_SECONDS (the worker declares the queue with it)."
  type        = number
  default     = 7200

  validation {
    condition     = var.visibility_timeout_seconds >= 10 && var.visibility_timeout_seconds <= 43200
    error_message = "SQS allows 10 s to 12 h."
  }
}

variable "max_receive_count" {
  description = "Deliveries of one message before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "message_retention_seconds" {
  description = "Seconds a job message is kept in its queue."
  type        = number
  default     = 345600
}

variable "dead_letter_retention_seconds" {
  description = "Seconds a message is kept in a dead-letter queue."
  type        = number
  default     = 1209600
}

variable "kms_key_arn" {
  description = "Customer managed key that encrypts the queues."
  type        = string
}

variable "restrict_dead_letter_sources" {
  description = "Let each dead-letter queue take messages only from its own job queue (a redrive allow policy)."
  type        = bool
  default     = true
}
