variable "name" {
  description = "Name prefix of the roles, e.g. aptmagic-prod."
  type        = string
}

variable "media_bucket_arn" {
  description = "The app's bucket (APTMAGIC_S3_BUCKET): uploads, outputs, staging objects; read and written by the API and the workers."
  type        = string
}

variable "read_only_bucket_arns" {
  description = "Buckets the tasks only read (model artifacts)."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "Keys of the encrypted buckets, queues, topic and secrets the tasks use."
  type        = list(string)
}

variable "queue_arns" {
  description = "The job queues (the API sends; the workers receive, delete and send again)."
  type        = list(string)
}

variable "alert_topic_arn" {
  description = "SNS topic of the app's alerts (APTMAGIC_ALERT_SNS_TOPIC_ARN)."
  type        = string
}

variable "execution_secret_arns" {
  description = "Secrets ECS injects into the containers at start (the task definitions' secrets block)."
  type        = list(string)
}

variable "task_secret_arns" {
  description = "Secrets the app itself reads at start (settings given as aws-sm://name references)."
  type        = list(string)
  default     = []
}

variable "task_parameter_arns" {
  description = "SSM parameters the app itself reads at start (settings given as aws-ssm://name references)."
  type        = list(string)
  default     = []
}

variable "log_group_arns" {
  description = "Log groups the containers write to."
  type        = list(string)
}

variable "ecr_repository_arns" {
  description = "Image repositories the tasks pull from."
  type        = list(string)
}

variable "sagemaker_endpoint_arns" {
  description = "SageMaker endpoints the workers may invoke."
  type        = list(string)
  default     = []
}

variable "bedrock_model_arns" {
  description = "Bedrock foundation models or inference profiles the workers may invoke."
  type        = list(string)
  default     = []
}
