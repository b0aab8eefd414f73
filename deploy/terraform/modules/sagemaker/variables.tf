variable "name" {
  description = "Name of the endpoint, e.g. aptmagic-prod-sdxl."
  type        = string
}

variable "image" {
  description = "Container image: the app's CUDA image, whose entry point answers SageMaker's `serve` with `aptmagic serve-model`."
  type        = string
}

variable "model_id" {
  description = "Registry id of the model the endpoint serves (MODEL_ID in the container)."
  type        = string
}

variable "model_data_url" {
  description = "Optional s3:// URL of a model.tar.gz in the models bucket, unpacked into /opt/ml/model."
  type        = string
  default     = null
}

variable "environment" {
  description = "Further settings of the container (not secret)."
  type        = map(string)
  default     = {}
}

variable "models_bucket_arn" {
  description = "Bucket of model artifacts the endpoint reads."
  type        = string
}

variable "ecr_repository_arn" {
  description = "Repository of the image."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key for the endpoint's storage volume and the artifacts."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the endpoint."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the endpoint."
  type        = string
}

variable "instance_type" {
  description = "Endpoint instance type."
  type        = string
  default     = "ml.g5.xlarge"
}

variable "min_instances" {
  description = "Least instances behind the endpoint."
  type        = number
  default     = 1
}

variable "max_instances" {
  description = "Most instances behind the endpoint."
  type        = number
  default     = 2
}

variable "invocations_per_instance" {
  description = "Invocations a minute per instance the autoscaling aims for."
  type        = number
  default     = 20
}
