variable "environment" {
  description = "dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment is dev, staging or prod."
  }
}

variable "region" {
  description = "Region of the environment."
  type        = string
}

variable "replica_region" {
  description = "Region of the bucket replicas."
  type        = string
}

variable "availability_zones" {
  description = "Zones of the environment (2 or 3)."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "Address range of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per zone (true) or one for the VPC."
  type        = bool
}

variable "interface_endpoints" {
  description = "Services reached through interface VPC endpoints."
  type        = list(string)
  default     = ["sqs", "secretsmanager", "ecr.api", "ecr.dkr", "logs", "sagemaker.runtime", "bedrock-runtime"]
}

variable "domain_name" {
  description = "The app's domain, e.g. app.example.com."
  type        = string
}

variable "alb_certificate_arn" {
  description = "ACM certificate for domain_name in region (the load balancer)."
  type        = string
}

variable "cloudfront_certificate_arn" {
  description = "ACM certificate for domain_name in us-east-1 (CloudFront)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of domain_name; null: point the domain at the distribution yourself."
  type        = string
  default     = null
}

variable "latency_routing" {
  description = "Optional latency-based API origin for stacks in several regions (see the cloudfront module)."
  type = object({
    record_name    = string
    set_identifier = string
  })
  default = null
}

variable "cloudfront_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "waf_rate_limit_per_5_minutes" {
  description = "Requests per client address in 5 minutes before the WAF blocks it."
  type        = number
  default     = 2000
}

variable "alarm_email" {
  description = "Address of the alert emails."
  type        = string
}

variable "request_alarm_threshold" {
  description = "API requests in 24 hours above which the alarm and the app's own alert go off."
  type        = number
  default     = 10000
}

variable "queue_depth_alarm_threshold" {
  description = "Waiting jobs in one queue above which the alarm goes off."
  type        = number
  default     = 1000
}

variable "log_retention_days" {
  description = "Days logs are kept (CloudWatch Logs and the logs bucket)."
  type        = number
}

variable "image_tag" {
  description = "Tag of the app image to run (CPU: <tag>, GPU: <tag>-cuda)."
  type        = string
}

variable "api" {
  description = "API service size and scaling (see the ecs module)."
  type = object({
    cpu                 = number
    memory              = number
    processes           = optional(number, 2)
    min_count           = number
    max_count           = number
    cpu_target_percent  = optional(number, 60)
    requests_per_target = optional(number, 1000)
  })
}

variable "cpu_workers" {
  description = "CPU worker service size and scaling (see the ecs module)."
  type = object({
    cpu             = number
    memory          = number
    concurrency     = optional(number, 2)
    min_count       = number
    max_count       = number
    jobs_per_worker = optional(number, 4)
    spot_weight     = optional(number, 0)
  })
}

variable "gpu_workers" {
  description = "GPU worker service size and scaling (see the ecs module); min_count 0 scales to zero when idle."
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
}

variable "worker_idle_minutes" {
  description = "Minutes without jobs before a worker service goes down to its minimum."
  type        = number
  default     = 15
}

variable "queue_visibility_timeout_seconds" {
  description = "Longest job in seconds, with margin (SQS visibility timeout and the app's broker visibility timeout)."
  type        = number
  default     = 7200
}

variable "queue_max_receive_count" {
  description = "Deliveries of one job message before it goes to the dead-letter queue."
  type        = number
  default     = 5
}

variable "db" {
  description = "Aurora PostgreSQL Serverless v2: capacity range (ACU), instances, point-in-time restore window."
  type = object({
    min_capacity          = number
    max_capacity          = number
    instance_count        = number
    backup_retention_days = number
  })
}

variable "redis" {
  description = "ElastiCache Redis: node type, a replica in another zone, snapshot days."
  type = object({
    node_type               = string
    multi_az                = bool
    snapshot_retention_days = number
  })
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from deletion."
  type        = bool
}

variable "keep_final_snapshot" {
  description = "Take a final database snapshot when the cluster is destroyed."
  type        = bool
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets and the image repository (dev only)."
  type        = bool
}

variable "s3_replication_enabled" {
  description = "Replicate the data buckets to replica_region."
  type        = bool
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, for dev teardown)."
  type        = number
  default     = 30
}

variable "operator_secrets" {
  description = "Further secrets by app setting (e.g. APTMAGIC_SMTP_PASSWORD = \"smtp-password\"); put their values before the tasks start."
  type        = map(string)
  default     = {}
}

variable "extra_app_environment" {
  description = "Further app settings that are not secret (APTMAGIC_DEFAULT_MODELS, APTMAGIC_MODELS, ...)."
  type        = map(string)
  default     = {}
}

variable "bedrock_model_arns" {
  description = "Bedrock models the workers may invoke."
  type        = list(string)
  default     = []
}

variable "sagemaker" {
  description = "Optional SageMaker endpoint serving one registry model with the app's image."
  type = object({
    enabled                  = bool
    model_id                 = optional(string, "")
    instance_type            = optional(string, "ml.g5.xlarge")
    min_instances            = optional(number, 1)
    max_instances            = optional(number, 2)
    invocations_per_instance = optional(number, 20)
  })
  default = { enabled = false }
}
