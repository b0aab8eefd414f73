variable "name" {
  description = "Name prefix, e.g. aptmagic-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the services."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks and the GPU instances."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups by tier (alb, api, worker) from the networking module."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "Customer managed key of the image repository."
  type        = string
}

variable "image_tag" {
  description = "Tag of the app image in the repository; the GPU workers run <tag>-cuda (deploy/Dockerfile, CUDA variant)."
  type        = string
}

variable "force_destroy" {
  description = "Let terraform destroy delete the image repository with its images (dev only)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate of the load balancer's HTTPS listener (the app's domain, in this region)."
  type        = string
}

variable "logs_bucket_name" {
  description = "Bucket of the load balancer's access logs (under alb/)."
  type        = string
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
  default     = true
}

variable "origin_verify_enabled" {
  description = "Forward only requests that carry origin_verify_header in X-Origin-Verify (CloudFront adds it); others get 403."
  type        = bool
  default     = false
}

variable "origin_verify_header" {
  description = "The value CloudFront sends in X-Origin-Verify (when origin_verify_enabled)."
  type        = string
  default     = null
  sensitive   = true
}

variable "log_group_names" {
  description = "Log group names by container (api, worker-cpu, worker-gpu, migrate)."
  type        = map(string)
}

variable "execution_role_arn" {
  description = "Role ECS starts the tasks with."
  type        = string
}

variable "api_role_arn" {
  description = "Role of the API tasks."
  type        = string
}

variable "worker_role_arn" {
  description = "Role of the worker tasks."
  type        = string
}

variable "app_environment" {
  description = "The app's settings (APTMAGIC_*) that are not secret, for every container."
  type        = map(string)
}

variable "app_secrets" {
  description = "Secret ARN by the app setting it feeds (APTMAGIC_SECRET_KEY, APTMAGIC_DATABASE_URL, ...); ECS injects the values at start."
  type        = map(string)
}

variable "queue_names" {
  description = "SQS queue names by app queue (cpu, gpu), whose depth scales the workers."
  type        = map(string)
}

variable "api" {
  description = "API service: task size, processes per task, task counts and scaling targets."
  type = object({
    cpu                  = number
    memory               = number
    processes            = optional(number, 2)
    min_count            = number
    max_count            = number
    cpu_target_percent   = optional(number, 60)
    requests_per_target  = optional(number, 1000)
    ephemeral_storage_gb = optional(number, 21)
  })
}

variable "cpu_workers" {
  description = "CPU workers on Fargate: task size, jobs per task, task counts, queued jobs per worker to aim for, share on Fargate Spot."
  type = object({
    cpu                  = number
    memory               = number
    concurrency          = optional(number, 2)
    min_count            = number
    max_count            = number
    jobs_per_worker      = optional(number, 4)
    spot_weight          = optional(number, 0)
    ephemeral_storage_gb = optional(number, 50)
  })
}

variable "gpu_workers" {
  description = "GPU workers on EC2 (ECS GPU AMI): instance types, task size, task counts (min 0 scales to zero when idle), queued jobs per worker to aim for."
  type = object({
    instance_types      = list(string)
    cpu                 = number
    memory              = number
    concurrency         = optional(number, 1)
    min_count           = number
    max_count           = number
    jobs_per_worker     = optional(number, 2)
    root_volume_size_gb = optional(number, 200)
    on_demand_base      = optional(number, 0)
    on_demand_percent   = optional(number, 100)
  })

  validation {
    condition     = length(var.gpu_workers.instance_types) > 0 && alltrue([for t in var.gpu_workers.instance_types : can(regex("^g[4-6][a-z]*\\.", t))])
    error_message = "GPU workers run on g4/g5/g6 instance types."
  }
}

variable "gpu_ami_parameter" {
  description = "SSM parameter with the ECS GPU-optimized AMI id."
  type        = string
  default     = "/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id"
}

variable "idle_minutes" {
  description = "Minutes without any job (queued or running) after which a worker service goes down to its minimum (0 where min_count is 0)."
  type        = number
  default     = 15
}
