# One-time bootstrap of the remote state (see docs/operations/aws.md, "Bootstrap"). Its own state
# stays local: keep terraform.tfstate of this folder, or move it into the bucket afterwards.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}

variable "region" {
  description = "Region of the state bucket and lock table."
  type        = string
}

variable "bucket_name" {
  description = "Name of the state bucket (globally unique, e.g. aptmagic-tfstate-<account id>)."
  type        = string
}

variable "lock_table_name" {
  description = "Name of the lock table."
  type        = string
  default     = "aptmagic-terraform-locks"
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "aptmagic", ManagedBy = "terraform", Component = "state" }
  }
}

module "state" {
  source          = "../modules/state"
  bucket_name     = var.bucket_name
  lock_table_name = var.lock_table_name
}

output "backend_config" {
  description = "Lines for each environment's backend.hcl."
  value       = <<-EOT
    bucket         = "${module.state.bucket_name}"
    region         = "${var.region}"
    dynamodb_table = "${module.state.lock_table_name}"
    kms_key_id     = "${module.state.kms_key_arn}"
    encrypt        = true
  EOT
}
