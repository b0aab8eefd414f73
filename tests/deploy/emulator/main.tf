# The pieces of an environment that an AWS emulator (moto) implements, applied with the real
# modules: KMS keys, the VPC, the buckets with versioning, lifecycle and cross-region
# replication, the queues with dead letters, the app's secrets, the log groups, alert topic,
# email subscription, alarms and trail, the task roles, and the state bucket with its lock table.
# tests/deploy/test_apply_emulator.py applies and destroys it against a moto server.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}

variable "endpoint" {
  description = "URL of the emulator."
  type        = string
}

variable "name" {
  description = "Name prefix of everything created."
  type        = string
  default     = "aptmagic-emu"
}

locals {
  region         = "us-east-1"
  replica_region = "eu-west-1"
  services = [
    "cloudtrail", "cloudwatch", "dynamodb", "ec2", "iam", "kms", "logs", "s3", "secretsmanager", "sns", "sqs", "sts",
  ]
}

provider "aws" {
  region                      = local.region
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    cloudtrail     = var.endpoint
    cloudwatch     = var.endpoint
    dynamodb       = var.endpoint
    ec2            = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    logs           = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    sts            = var.endpoint
  }
}

provider "aws" {
  alias                       = "replica"
  region                      = local.replica_region
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    iam = var.endpoint
    kms = var.endpoint
    s3  = var.endpoint
    sts = var.endpoint
  }
}

module "state" {
  source          = "../../../deploy/terraform/modules/state"
  bucket_name     = "${var.name}-tfstate"
  lock_table_name = "${var.name}-locks"
  force_destroy   = true
}

module "kms" {
  source                  = "../../../deploy/terraform/modules/kms"
  name                    = var.name
  description             = "emulated environment"
  service_principals      = ["logs", "cloudtrail", "cloudwatch", "cloudfront"]
  deletion_window_in_days = 7
}

module "kms_replica" {
  source                  = "../../../deploy/terraform/modules/kms"
  providers               = { aws = aws.replica }
  name                    = "${var.name}-replica"
  description             = "emulated replicas"
  deletion_window_in_days = 7
}

module "networking" {
  source              = "../../../deploy/terraform/modules/networking"
  name                = var.name
  cidr_block          = "10.40.0.0/16"
  availability_zones  = ["us-east-1a", "us-east-1b"]
  nat_gateway_per_az  = false
  interface_endpoints = ["sqs", "secretsmanager"]
  kms_key_arn         = module.kms.key_arn
  alb_ingress         = "internet"
}

module "s3" {
  source    = "../../../deploy/terraform/modules/s3"
  providers = { aws = aws, aws.replica = aws.replica }
  name      = var.name
  buckets = {
    media  = { cors_origins = ["https://app.example.com"] }
    models = {}
  }
  kms_key_arn         = module.kms.key_arn
  replication_enabled = true
  replica_kms_key_arn = module.kms_replica.key_arn
  force_destroy       = true
}

module "queue" {
  source      = "../../../deploy/terraform/modules/queue"
  name_prefix = "${var.name}-"
  kms_key_arn = module.kms.key_arn
  # moto does not keep a queue's RedriveAllowPolicy, and the provider would wait for it forever.
  restrict_dead_letter_sources = false
}

module "secrets" {
  source                  = "../../../deploy/terraform/modules/secrets"
  name                    = var.name
  kms_key_arn             = module.kms.key_arn
  recovery_window_in_days = 0
}

module "observability" {
  source                   = "../../../deploy/terraform/modules/observability"
  name                     = var.name
  kms_key_arn              = module.kms.key_arn
  alarm_email              = "ops@example.com"
  load_balancer_arn_suffix = "app/${var.name}/0123456789abcdef"
  queue_names              = module.queue.queue_names
  dead_letter_queue_names  = module.queue.dead_letter_queue_names
  cloudtrail_bucket_name   = module.s3.logs_bucket_name
}

module "iam" {
  source                = "../../../deploy/terraform/modules/iam"
  name                  = var.name
  media_bucket_arn      = module.s3.bucket_arns["media"]
  read_only_bucket_arns = [module.s3.bucket_arns["models"]]
  kms_key_arns          = [module.kms.key_arn]
  queue_arns            = values(module.queue.queue_arns)
  alert_topic_arn       = module.observability.alert_topic_arn
  execution_secret_arns = values(module.secrets.app_secrets)
  log_group_arns        = values(module.observability.log_group_arns)
  ecr_repository_arns   = ["arn:aws:ecr:${local.region}:123456789012:repository/${var.name}"]
}

output "region" {
  value = local.region
}

output "media_bucket" {
  value = module.s3.bucket_names["media"]
}

output "replica_bucket_arns" {
  value = module.s3.replica_bucket_arns
}

output "kms_key_arn" {
  value = module.kms.key_arn
}

output "secret_key_secret" {
  value = module.secrets.secret_key_name
}

output "queue_urls" {
  value = module.queue.queue_urls
}

output "dead_letter_queue_arns" {
  value = module.queue.dead_letter_queue_arns
}

output "alert_topic_arn" {
  value = module.observability.alert_topic_arn
}

output "request_alarm" {
  value = module.observability.request_alarm
}

output "worker_role_name" {
  value = module.iam.worker_role_name
}

output "lock_table" {
  value = module.state.lock_table_name
}

output "vpc_id" {
  value = module.networking.vpc_id
}

output "security_group_ids" {
  value = module.networking.security_group_ids
}
